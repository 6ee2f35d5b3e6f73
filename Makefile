# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
ANSIBLE_WHEEL_VERSION ?= 12.3.0
VENV := .venv
BIN := $(abspath $(VENV))/bin
TREE ?= $(abspath build/collections)
COLLECTION := $(TREE)/ansible_collections/keyguard/kms
# ansible-test downloads a pip bootstrap from a host CI cannot reach; the name follows the pip it wants
# (24.2 for ansible-core 2.19, 23.1.2 for 2.17).
GET_PIP := $(HOME)/.ansible/test/cache/get_pip_24_2.py
COMPAT_GET_PIP := $(HOME)/.ansible/test/cache/get_pip_23_1_2.py
# Targets rebuild the tree first; make test builds it once and runs its lanes with BUILD_TREE= .
BUILD_TREE ?= collection
export ANSIBLE_COLLECTIONS_PATH := $(TREE)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(BIN):$(PATH)
# Each process imports botocore, ansible and moto; without bytecode on disk every one of them compiles those sources
# again (a third of make test's CPU on a machine whose environment sets PYTHONDONTWRITEBYTECODE). Bytecode is written
# once, on first import, under build/ rather than beside the sources.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(abspath build/pycache)

.PHONY: test test-checks demo sanity lint cfn-lint units integration molecule compat bench bench-baseline bench-org bench-smoke \
	bench-organization \
	changelog-lint collection clean

# Two lanes side by side on the 2 cores CI has: the playbook suites (make integration), and everything else one after
# the other, fastest first. --keep-going: one lane's failure does not hide the other's.
test: collection
	$(MAKE) --no-print-directory --jobs 2 --keep-going --output-sync=target integration test-checks BUILD_TREE=

test-checks:
	$(MAKE) --no-print-directory --jobs 1 changelog-lint lint cfn-lint units sanity molecule compat bench-smoke BUILD_TREE=

# --no-compile: Python compiles what is imported, on first import (see PYTHONPYCACHEPREFIX); most of what is
# installed never is.
$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-compile -r tests/requirements.txt
	touch $@

collection: $(VENV)/.installed
	$(BIN)/python tests/harness/build_tree.py --source . --tree $(TREE) \
		--cache build/cache --ansible-version $(ANSIBLE_WHEEL_VERSION)

$(GET_PIP) $(COMPAT_GET_PIP): tests/harness/get_pip_stand_in.py
	mkdir -p $(dir $@)
	cp $< $@

sanity: $(BUILD_TREE) $(GET_PIP)
	cd $(COLLECTION) && $(BIN)/ansible-test sanity --venv --python 3.11 --color no

changelog-lint: $(BUILD_TREE)
	cd $(COLLECTION) && $(BIN)/antsibull-changelog lint

lint: $(BUILD_TREE)
	cd $(COLLECTION) && $(BIN)/ansible-lint

# The member-role, StackSet and management templates (built from policies/*.json by tests/harness/cloudformation.py).
cfn-lint: $(BUILD_TREE)
	cd $(COLLECTION) && $(BIN)/cfn-lint deploy/cloudformation/*.yaml

units: $(BUILD_TREE)
	cd $(COLLECTION) && PYTHONPATH=$(TREE) $(BIN)/python -m pytest -q tests/unit tests/emulator tests/harness

integration: $(BUILD_TREE)
	cd $(COLLECTION) && $(BIN)/python -m pytest -q -n 2 --dist loadgroup --durations 12 tests/playbooks

# The light lane: the oldest ansible-core, amazon.aws and botocore that meta/runtime.yml, galaxy.yml and
# requirements.txt claim (ansible 11.0.0 bundles amazon.aws 9.0.0): units, the sanity tests that depend
# on ansible-core and amazon.aws, and one role run. The other sanity tests run in `make sanity`.
COMPAT_SANITY := validate-modules import ansible-doc action-plugin-docs runtime-metadata compile
COMPAT_VENV := .venv-compat
COMPAT_TREE := $(abspath build/compat-collections)
COMPAT_COLLECTION := $(COMPAT_TREE)/ansible_collections/keyguard/kms

$(COMPAT_VENV)/.installed: tests/requirements-compat.txt
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/pip install --quiet --no-compile -r tests/requirements-compat.txt
	touch $@

compat: $(VENV)/.installed $(COMPAT_VENV)/.installed $(COMPAT_GET_PIP)
	$(BIN)/python tests/harness/build_tree.py --source . --tree $(COMPAT_TREE) --cache build/cache \
		--ansible-version 11.0.0
	cd $(COMPAT_COLLECTION) && PYTHONPATH=$(COMPAT_TREE) $(abspath $(COMPAT_VENV))/bin/python -m pytest -q \
		-p no:cacheprovider tests/unit
	cd $(COMPAT_COLLECTION) && $(abspath $(COMPAT_VENV))/bin/ansible-test sanity --venv --python 3.11 \
		--color no $(addprefix --test ,$(COMPAT_SANITY))
	cd $(COMPAT_COLLECTION) && ANSIBLE_COLLECTIONS_PATH=$(COMPAT_TREE) $(abspath $(COMPAT_VENV))/bin/python \
		tests/harness/compat_run.py --bin $(abspath $(COMPAT_VENV))/bin --emulator-python $(BIN)/python

demo: collection
	cd $(COLLECTION) && KEYGUARD_DEMO_DIR=$(CURDIR)/demo-output $(BIN)/python tests/harness/demo.py

clean:
	rm -rf build $(VENV) .venv-awscli .venv-c7n

molecule: $(BUILD_TREE)
	cd $(COLLECTION) && $(BIN)/molecule test --scenario-name rotation

# Peer (a) needs the AWS CLI; awscli pins its own botocore, so it gets a venv of its own.
.venv-awscli/.installed:
	$(PYTHON) -m venv .venv-awscli
	.venv-awscli/bin/pip install --quiet --no-compile awscli
	touch $@

$(VENV)/.bench-installed: $(VENV)/.installed benchmarks/requirements.txt
	$(BIN)/pip install --quiet --no-compile -r benchmarks/requirements.txt
	touch $@

# The benchmark runs from a tree of its own, so that rebuilding the test tree cannot pull it from under it.
bench: .venv-awscli/.installed $(VENV)/.bench-installed
	$(MAKE) collection TREE=$(abspath build/bench-collections)
	cd $(abspath build/bench-collections)/ansible_collections/keyguard/kms && \
		ANSIBLE_COLLECTIONS_PATH=$(abspath build/bench-collections) $(BIN)/python benchmarks/run.py \
		--aws-cli $(CURDIR)/.venv-awscli/bin/aws --output $(CURDIR)/benchmark-results $(BENCH_ARGS)
	cd $(abspath build/bench-collections)/ansible_collections/keyguard/kms && \
		ANSIBLE_COLLECTIONS_PATH=$(abspath build/bench-collections) $(BIN)/python benchmarks/organization.py

# The Organization report from 2,000 accounts' reports, and its page for 300 accounts in chromium.
bench-organization: $(VENV)/.installed
	$(MAKE) collection TREE=$(abspath build/bench-collections)
	cd $(abspath build/bench-collections)/ansible_collections/keyguard/kms && \
		ANSIBLE_COLLECTIONS_PATH=$(abspath build/bench-collections) $(BIN)/python benchmarks/organization.py \
		$(BENCH_ORGANIZATION_ARGS)

# The floor section with this role and BASELINE's (a commit; default: before issues 8-11) side by side.
BASELINE ?= 50d8f8e
bench-baseline: $(VENV)/.installed
	rm -rf build/baseline-src
	git clone --quiet --no-checkout . build/baseline-src && git -C build/baseline-src checkout --quiet $(BASELINE)
	# Before issue 8, ListAliases asked for pages of 1000, which KMS (and the emulator) refuses: 100.
	sed -i 's/"list_aliases", "Aliases")$$/"list_aliases", "Aliases", page_size=100)/' \
		build/baseline-src/plugins/module_utils/_kms.py
	$(BIN)/python tests/harness/build_tree.py --source build/baseline-src --tree $(abspath build/baseline-collections) \
		--cache build/cache --ansible-version $(ANSIBLE_WHEEL_VERSION)
	$(MAKE) collection TREE=$(abspath build/bench-collections)
	cd $(abspath build/bench-collections)/ansible_collections/keyguard/kms && \
		ANSIBLE_COLLECTIONS_PATH=$(abspath build/bench-collections) $(BIN)/python benchmarks/run.py \
		--sizes '' --peer-sizes '' --baseline-tree $(abspath build/baseline-collections) \
		--output $(CURDIR)/benchmark-results/baseline $(BENCH_ARGS)

# An Organization of 200 accounts through ansible-runner, whole and in slices (see benchmarks/org.py).
# Cloud Custodian's c7n-org, for bench-org's side-by-side columns: a venv of its own.
.venv-c7n/.installed:
	$(PYTHON) -m venv .venv-c7n
	.venv-c7n/bin/pip install --quiet --no-compile c7n c7n-org
	touch $@

bench-org: $(VENV)/.installed .venv-c7n/.installed
	$(MAKE) collection TREE=$(abspath build/bench-collections)
	cd $(abspath build/bench-collections)/ansible_collections/keyguard/kms && \
		ANSIBLE_COLLECTIONS_PATH=$(abspath build/bench-collections) $(BIN)/python benchmarks/org.py \
		--output $(CURDIR)/benchmark-results --c7n $(CURDIR)/.venv-c7n/bin/c7n-org $(BENCH_ORG_ARGS)

# Without the AWS CLI peer: installing awscli and its four calls a key cost the other lane a minute and a half of CPU;
# make bench runs it.
bench-smoke: $(BUILD_TREE)
	cd $(COLLECTION) && $(BIN)/python benchmarks/run.py --aws-cli none \
		--output $(CURDIR)/build/benchmark-smoke --sizes 20 --peer-sizes 1 --repeats 1 --no-latency --smoke
