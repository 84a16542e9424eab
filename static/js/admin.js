// The admin CRM's few behaviours htmx does not cover: select-all for bulk actions, and the pipeline
// board's drag-and-drop and keyboard moves (Enter opens a card). Every move is an ordinary htmx POST.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-select-all]")) return;
    document.querySelectorAll('input[name="ids"][form="bulk-form"]').forEach(function (row) {
      row.checked = box.checked;
    });
  });

  var BOARD = ["new", "contacted", "negotiating", "booked", "lost"];

  function moveCard(card, status) {
    if (!card || !status || card.dataset.status === status) return;
    if (status === "booked" || status === "lost") {
      askThenMove(card, status);
      return;
    }
    postMove(card, { status: status });
  }

  // Booked asks for a value and lost for a reason in a real form (a <dialog>), never window.prompt.
  function askThenMove(card, status) {
    var dialog = document.getElementById("board-dialog");
    var form = document.getElementById("board-dialog-form");
    form.reset();
    dialog.querySelector("[data-dialog-guest]").textContent = card.querySelector("a").textContent;
    dialog.querySelector("[data-dialog-status]").textContent = status;
    dialog.querySelectorAll("[data-dialog-for]").forEach(function (field) {
      field.hidden = field.dataset.dialogFor !== status;
    });
    dialog.onclose = function () {
      if (dialog.returnValue !== "save") { card.focus(); return; }
      var values = { status: status };
      if (status === "booked") values.booking_value = form.elements.booking_value.value;
      else values.reason = form.elements.reason.value;
      postMove(card, values);
    };
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector('[data-dialog-for="' + status + '"] input').focus();
  }

  // "Move to…" (tap and keyboard): booked and lost go through the same dialog as a drag, before htmx sends anything.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest(".board-card__move");
    if (!form) return;
    var status = form.elements.status.value;
    if (status !== "booked" && status !== "lost") return;
    event.preventDefault();
    event.stopPropagation();  // capture phase: htmx's own listener on the form never sees this submit
    form.elements.status.value = "";  // the dialog carries the choice; the card shows nothing unsaved
    askThenMove(form.closest(".board-card"), status);
  }, true);

  function postMove(card, values) {
    values.confirm = "yes";
    values.view = "board";
    var board = document.getElementById("board");
    var filters = JSON.parse(board.dataset.filters || "{}");
    Object.keys(filters).forEach(function (key) { values[key] = filters[key]; });
    if (board.dataset.search) values.q = board.dataset.search;
    var id = card.dataset.id;
    htmx.ajax("POST", "/admin/crm/enquiries/" + id + "/status", {
      source: card, target: "#board", swap: "outerHTML", values: values
    }).then(function () {
      var moved = document.querySelector('.board-card[data-id="' + id + '"]');
      if (moved) moved.focus();
    });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (!card) return;
    event.dataTransfer.setData("text/plain", card.dataset.id);
    event.dataTransfer.effectAllowed = "move";
    card.classList.add("board-card--dragging");
  });
  document.addEventListener("dragend", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (card) card.classList.remove("board-card--dragging");
  });
  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".board__column");
    if (!column) return;
    event.preventDefault();
    column.classList.add("board__column--over");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board__column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("board__column--over");
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".board__column");
    if (!column) return;
    event.preventDefault();
    column.classList.remove("board__column--over");
    var card = document.querySelector('.board-card[data-id="' + event.dataTransfer.getData("text/plain") + '"]');
    moveCard(card, column.dataset.status);
  });
  document.addEventListener("keydown", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (card && event.key === "Enter" && event.target === card) {
      event.preventDefault();
      window.location.assign(card.querySelector("a").href);
      return;
    }
    // Only the card itself: arrow keys inside its "Move to…" control must not move anything.
    if (!card || event.target !== card || (event.key !== "ArrowRight" && event.key !== "ArrowLeft")) return;
    var index = BOARD.indexOf(card.dataset.status) + (event.key === "ArrowRight" ? 1 : -1);
    if (index < 0 || index >= BOARD.length) return;
    event.preventDefault();
    moveCard(card, BOARD[index]);
  });
})();
