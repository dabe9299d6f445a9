# redisraft — the two commands a newcomer runs are `make cluster` and `make test`.
SHELL := /bin/bash
DENO := $(shell command -v deno 2>/dev/null || echo $(CURDIR)/.tools/node_modules/.bin/deno)
export PATH := $(CURDIR)/.tools/node_modules/.bin:$(PATH)

.PHONY: setup cluster test bench build clean ok chaos

setup:
	@bash scripts/setup.sh

cluster: setup
	@$(DENO) task cluster

test: setup
	@$(DENO) task test

ok: setup
	@$(DENO) task ok

bench: setup
	@$(DENO) task bench

build: setup
	@$(DENO) task build

clean:
	rm -rf data out redisraft

chaos: setup
	@$(DENO) task chaos --time 600 --nemesis kill,pause,partition,member,transfer,snapshot --workload list-append
