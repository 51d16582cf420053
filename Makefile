# `make demo`: set up, generate a demo data set, run the weekly job, serve the viewer.
# `make test`: set up and run the whole test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO   ?= demo-data
export SHABAKA_HOME ?= $(CURDIR)/$(DEMO)/home

.PHONY: setup demo test bench clean browser

$(BIN)/shabaka: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/shabaka

web/static/vendor/cytoscape-fcose.js:
	bash web/vendor.sh

demo: setup web/static/vendor/cytoscape-fcose.js
	$(BIN)/shabaka generate --out $(DEMO)/generated --scale 0.25 --weeks 8 --seed 7
	mkdir -p $(SHABAKA_HOME)/inbox
	cp $(DEMO)/generated/claims.csv.gz $(SHABAKA_HOME)/inbox/
	$(BIN)/shabaka run --providers $(DEMO)/generated/providers.csv || test $$? -eq 3
	$(BIN)/shabaka evaluate --truth $(DEMO)/generated/labels.csv --findings $(SHABAKA_HOME)/runs/latest
	printf 'demo-password\n' | $(BIN)/shabaka users add demo --role investigator --replace
	@echo "Demo login: demo / demo-password  ->  http://127.0.0.1:5000"
	$(BIN)/shabaka serve --host 127.0.0.1 --port 5000

test: setup web/static/vendor/cytoscape-fcose.js
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/graph.py
	$(BIN)/python bench/detect.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
