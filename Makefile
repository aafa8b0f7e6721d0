.PHONY: run test lint bench
run:            ## install, migrate, serve on :8000 (embedded PostgreSQL without DATABASE_URL)
	scripts/run.sh
test:           ## the whole test suite
	scripts/test.sh
bench:          ## benchmark every endpoint at 100k users (bench/README.md); ARGS="--users 1000000" to change
	bench/run.sh $(ARGS)
