# The two set-up commands: `make run` (the app with demo data) and `make test` (the whole suite).
.PHONY: run test test-sqlite test-postgresql clean

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

test-sqlite:
	@bash scripts/test.sh sqlite

test-postgresql:
	@bash scripts/test.sh postgresql

clean:
	rm -rf .venv .pytest_cache test-artifacts
