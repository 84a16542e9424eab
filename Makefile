# The two set-up commands: `make run` (the app with demo data) and `make test` (the whole suite).
.PHONY: run test test-sqlite test-postgresql lock add clean

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

test-sqlite:
	@bash scripts/test.sh sqlite

test-postgresql:
	@bash scripts/test.sh postgresql

# Re-lock after editing pyproject.toml by hand, and write the pip-style pin lists from the lock.
lock:
	@bash scripts/uv.sh lock
	@bash scripts/uv.sh export --frozen --no-hashes --no-emit-project --quiet -o requirements.txt
	@bash scripts/uv.sh export --frozen --no-hashes --no-emit-project --quiet --extra dev -o requirements-dev.txt

# Add a runtime dependency: make add PACKAGE='name~=1.2'
add:
	@bash scripts/uv.sh add --no-sync '$(PACKAGE)'
	@$(MAKE) --no-print-directory lock

clean:
	rm -rf .venv .tools .pytest_cache test-artifacts
