# websockify in Go. `make` builds bin/websockify, a static binary (no cgo:
# it runs on any Linux of its architecture) with the committed rebind.so of
# its architecture embedded.
GO       ?= go
GOTESTFLAGS ?=
# Go 1.26.8, the machine's, has eleven standard-library vulnerabilities
# that govulncheck reports (net/http, crypto/tls, crypto/x509, os); 1.27.3
# has none. The go command fetches it from the module proxy once.
export GOTOOLCHAIN ?= go1.27.3

BIN      := bin/websockify
GOFILES  := $(shell find . -name '*.go' -not -path './.git/*' 2>/dev/null)

# The LD_PRELOAD shim, compiled from rebind.c for each architecture and
# committed (the bpf2go convention): `go build` and `go install` need no C
# compiler. `make generate` rebuilds them; `make check-generated` (part of
# `make test`) fails when the committed files differ from what rebind.c
# builds to. The flags make the build reproducible: no debug info, no
# build-id, no paths of this checkout.
SHIM_CFLAGS := -O2 -std=c99 -Wall -Wextra -Werror -fPIC -fvisibility=hidden \
	-ffile-prefix-map=$(CURDIR)=. -Wl,--build-id=none -s -shared
SHIM_LIBS   := -ldl -lpthread
HOST_ARCH   := $(shell uname -m)
CC_amd64    ?= $(if $(filter x86_64,$(HOST_ARCH)),cc,x86_64-linux-gnu-gcc)
CC_arm64    ?= $(if $(filter aarch64,$(HOST_ARCH)),cc,aarch64-linux-gnu-gcc)
SHIM_ARCHES := amd64 arm64
SHIMS       := $(SHIM_ARCHES:%=rebind/rebind_%.so)

.PHONY: all build run test unit allocs e2e e2e-goroutines race vet fmt-check lint bench fuzz clean deps generate check-generated install

PREFIX  ?= /usr/local
DESTDIR ?=

all: build

build: $(BIN)

# make run ARGS="6080 localhost:5900"
run: $(BIN)
	./$(BIN) $(ARGS)

generate: rebind.c
	@for a in $(SHIM_ARCHES); do \
	  cc=$$(case $$a in amd64) echo "$(CC_amd64)";; arm64) echo "$(CC_arm64)";; esac); \
	  echo "$$cc rebind.c -> rebind/rebind_$$a.so"; \
	  $$cc $(SHIM_CFLAGS) -o rebind/rebind_$$a.so rebind.c $(SHIM_LIBS) || exit 1; \
	done

# Builds rebind.c for every architecture in a scratch directory and compares
# with the committed files.
check-generated: deps
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for a in $(SHIM_ARCHES); do \
	  cc=$$(case $$a in amd64) echo "$(CC_amd64)";; arm64) echo "$(CC_arm64)";; esac); \
	  $$cc $(SHIM_CFLAGS) -o $$tmp/rebind_$$a.so rebind.c $(SHIM_LIBS) || exit 1; \
	  if ! cmp -s $$tmp/rebind_$$a.so rebind/rebind_$$a.so; then \
	    echo "rebind/rebind_$$a.so does not match rebind.c: run make generate and commit it"; exit 1; \
	  fi; \
	done; echo "rebind/rebind_{$$(echo $(SHIM_ARCHES) | tr ' ' ,)}.so match rebind.c"

$(BIN): $(GOFILES) go.mod go.sum $(SHIMS)
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./cmd/websockify

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary to $(DESTDIR)$(PREFIX)/bin.
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/websockify

# Everything CI runs: formatting, the committed shims, vet, staticcheck and
# govulncheck, unit tests with the race detector, allocation counts,
# then the end-to-end suite against the real binary, and its protocol
# suites again on the goroutine relay.
test: fmt-check check-generated vet lint race allocs e2e e2e-goroutines

unit: deps
	$(GO) test $(GOTESTFLAGS) -shuffle=on -timeout=10m $$($(GO) list ./... | grep -v /tests)

race: deps
	$(GO) test $(GOTESTFLAGS) -race -shuffle=on -timeout=15m $$($(GO) list ./... | grep -v /tests)

# Allocation counts, which the race detector's sync.Pool makes meaningless.
allocs:
	$(GO) test $(GOTESTFLAGS) -count=1 -run 'NoAllocation' ./gateway/...

e2e: $(BIN) deps
	$(GO) test $(GOTESTFLAGS) -count=1 -timeout=30m ./tests/...

# The protocol suites again, on the other driver: every session through
# the goroutine relay (--relay=goroutines, set by its environment variable).
PROTOCOL_SUITES := autobahn differential proxy limits record tls fdlimit base64 operate
PROTOCOL_TESTS  := $(shell sed -n 's/^func \(Test[A-Za-z0-9_]*\)(t \*testing.T).*/\1/p' $(PROTOCOL_SUITES:%=tests/%_test.go) | paste -sd'|')
e2e-goroutines: $(BIN) deps
	WEBSOCKIFY_RELAY=goroutines $(GO) test $(GOTESTFLAGS) -count=1 -timeout=30m -run '^($(PROTOCOL_TESTS))$$' ./tests/...

# System programs the tests drive (installed when root): the end-to-end
# suite, and redis-server for the tokens package.
deps:
	@./tests/install-deps.sh

vet:
	$(GO) vet ./...

# Static analysis and known vulnerabilities, with pinned tools. govulncheck
# reads Go's vulnerability database from a pinned snapshot of its source
# (golang.org/x/vulndb, indexed by its own indexdb): no other download.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB_MOD  := golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
VULNDB      := bin/vulndb
lint: $(VULNDB)
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(GOVULNCHECK) -db file://$(CURDIR)/$(VULNDB) ./...

$(VULNDB):
	@mkdir -p bin
	rm -rf $@.tmp
	dir=$$($(GO) mod download -json $(VULNDB_MOD) | sed -n 's/^.*"Dir": "\(.*\)",$$/\1/p'); \
	cd "$$dir" && GOFLAGS=-mod=mod $(GO) run ./cmd/indexdb -vulns data/osv -out $(CURDIR)/$@.tmp
	mv $@.tmp $@

fmt-check:
	@out="$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Go benchmarks, then the load tool against the plain relay, the reference
# (Debian's websockify) and bin/websockify. WSBENCH_SCALE=4 for bigger runs;
# WSBENCH_FLAGS for wsbench's own flags (e.g. -only t2c,echo).
bench: $(BIN) deps
	$(GO) test -run='^$$' -bench=. -benchmem ./gateway/...
	$(GO) build -o bin/wsbench ./cmd/wsbench
	./bin/wsbench $(WSBENCH_FLAGS)

fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$${FUZZTIME:-30s} $$pkg || exit 1; \
	  done; done

clean:
	rm -rf bin

# Browser pages (package webui) and their tests. The xterm.js files in
# webui/static/vendor/xterm are committed, so `go build` needs no npm;
# webui-assets refreshes them from webui/package-lock.json.
.PHONY: webui-assets browser-test screenshots demo
XTERM_DIR := webui/static/vendor/xterm

webui-assets:
	cd webui && npm ci --no-audit --no-fund
	mkdir -p $(XTERM_DIR)
	cp webui/node_modules/@xterm/xterm/lib/xterm.mjs webui/node_modules/@xterm/xterm/css/xterm.css \
	   webui/node_modules/@xterm/addon-fit/lib/addon-fit.mjs $(XTERM_DIR)/
	cp webui/node_modules/@xterm/xterm/LICENSE $(XTERM_DIR)/LICENSE.txt
	sed -i '/^\/\/# sourceMappingURL=/d' $(XTERM_DIR)/*.mjs

# Headless Chromium tests only (they are also part of e2e).
browser-test: $(BIN) deps
	$(GO) test $(GOTESTFLAGS) -count=1 -timeout=10m -run '^TestBrowser' ./tests/

# Re-takes the README's screenshots (docs/screenshots) with the browser tests.
screenshots: $(BIN) deps
	WEBSOCKIFY_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -timeout=10m -run '^TestBrowser(Wstelnet|NoVNC)$$' ./tests/

# make demo [DEMO_PORT=2023] [DEMO_LOGIN=/bin/login] [DEMO_LISTEN=127.0.0.1]:
# a browser terminal at http://127.0.0.1:2023/wstelnet.html (telnetd under
# inetd, wrapped by websockify); loopback only unless DEMO_LISTEN says otherwise.
demo: $(BIN)
	BIN=$(BIN) DEMO_PORT=$(DEMO_PORT) DEMO_LOGIN=$(DEMO_LOGIN) DEMO_LISTEN=$(DEMO_LISTEN) ./webui/demo.sh
# The embedded pages are part of the binary.
$(BIN): $(shell find webui/static -type f 2>/dev/null)

# Version, man page, completions, .deb and release binaries.
include packaging/packaging.mk
