.PHONY: run test fuzz bench
run:            ## install the runtime requirements, migrate, serve on 127.0.0.1:8000 (embedded PostgreSQL without DATABASE_URL, dev sign-in without COGNITO_POOL_ID)
	scripts/run.sh
test:           ## install the test and deploy tools, run the whole test suite
	scripts/test.sh
bench:          ## benchmark every endpoint at 100k users (bench/README.md); ARGS="--users 1000000" to change
	bench/run.sh $(ARGS)
fuzz:           ## schemathesis over every operation, 300 examples each (FUZZ_EXAMPLES=n to change; ~10 min)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} scripts/test.sh tests/hardening/test_schemathesis.py -q -s --timeout=0
