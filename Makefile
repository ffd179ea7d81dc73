# PaksaTalker entry points: make run, make test, make bench.
PY := .venv/bin/python

.PHONY: setup run test bench clean

setup:
	@bash scripts/setup.sh

run: setup
	@bash scripts/serve.sh

# Test-only system packages: Debian's Chromium for the browser tests (never a downloaded
# browser build), Redis and PostgreSQL for the scale-out integration tests, and Festival's
# voices (built from human recordings) so the aligner is not tested on espeak-ng alone.
TEST_APT_PACKAGES := chromium redis-server postgresql festival festvox-kallpc16k festvox-us-slt-hts festvox-itapc16k

# pytest's exit code 5 means no test ran: that is a failure, not a pass.
# Timings, CPU shares and speed targets are benchmarks (marker `bench`), run by make bench only.
test:
	@REQUIREMENTS=requirements-dev.txt EXTRA_APT_PACKAGES="$(TEST_APT_PACKAGES)" bash scripts/setup.sh
	@$(PY) -m pytest -m "not bench" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; exit $$rc

bench:
	@REQUIREMENTS=requirements-dev.txt EXTRA_APT_PACKAGES="$(TEST_APT_PACKAGES)" bash scripts/setup.sh
	@$(PY) -m pytest -m bench $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then exit $$rc; fi
	@$(PY) manage.py bench $(BENCH_ARGS)

clean:
	rm -rf data/work data/staticfiles
