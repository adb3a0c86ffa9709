# Packaging (included from the Makefile): the version from git, the man page
# and shell completions, Debian packages and release binaries.
#
#   make man completions   dist/docs/: websockify.1, websockify.bash, _websockify, websockify.fish
#   make install           also installs those under $(PREFIX)/share (see the Makefile's install)
#   make deb               dist/websockify-go_$(VERSION)_$(DEB_ARCH).deb for this machine (DEB_ARCH=arm64 for a Pi)
#   make release           dist/websockify_$(VERSION)_linux_{amd64,arm64}, both .debs, dist/SHA256SUMS
#
# Everything is built from this checkout with dpkg-deb; no network, no
# debhelper. The binaries are static (no cgo), with the rebind.so of their
# architecture embedded.

VERSION  := $(shell packaging/version.sh)
COMMIT   := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(if $(findstring dirty,$(VERSION)),-dirty)
# Release date and timestamps in the packages: the commit's, so that two
# builds of one commit are identical.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
SOURCE_DATE_EPOCH := $(SOURCE_DATE_EPOCH)
export SOURCE_DATE_EPOCH
DATE     := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%F)

VERSION_LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
DIST     := dist
DOCS     := $(DIST)/docs
DEB_ARCH ?= $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)
RELEASE_ARCHES := amd64 arm64
RELEASE_BINS   := $(RELEASE_ARCHES:%=$(DIST)/websockify_$(VERSION)_linux_%)
RELEASE_DEBS   := $(RELEASE_ARCHES:%=$(DIST)/websockify-go_$(VERSION)_%.deb)

.PHONY: man completions docs install-docs deb release version clean-dist FORCE

version:
	@echo $(VERSION)

# bin/websockify carries the version too; bin/.version changes (and
# relinks it) only when the version or commit does.
$(BIN): export GOFLAGS += '-ldflags=$(VERSION_LDFLAGS)'
$(BIN): bin/.version
bin/.version: FORCE
	@mkdir -p bin
	@echo '$(VERSION) $(COMMIT)' | cmp -s - $@ || echo '$(VERSION) $(COMMIT)' > $@

# The man page and completions come from the option definitions of --help
# (package options) and the plugin registries, through packaging/gendocs.
DOC_FILES := $(DOCS)/websockify.1 $(DOCS)/websockify.bash $(DOCS)/_websockify $(DOCS)/websockify.fish
docs man completions: $(DOC_FILES)
$(DOC_FILES) &: $(GOFILES) go.mod go.sum bin/.version
	$(GO) run ./packaging/gendocs -version '$(VERSION)' -date $(DATE) -out $(DOCS)

# make install also installs the man page and the completions, where the
# shells look under $(PREFIX)/share.
install: install-docs
install-docs: $(DOC_FILES)
	install -D -m 0644 $(DOCS)/websockify.1 $(DESTDIR)$(PREFIX)/share/man/man1/websockify.1
	install -D -m 0644 $(DOCS)/websockify.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/websockify
	install -D -m 0644 $(DOCS)/_websockify $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_websockify
	install -D -m 0644 $(DOCS)/websockify.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/websockify.fish

# Release binaries: static, stripped (the Debian way), reproducible.
$(DIST)/websockify_$(VERSION)_linux_%: $(GOFILES) go.mod go.sum $(SHIMS) $(shell find webui/static -type f 2>/dev/null) bin/.version
	@mkdir -p $(DIST)
	CGO_ENABLED=0 GOOS=linux GOARCH=$* $(GO) build -trimpath -buildvcs=false \
	  -ldflags '-s -w -buildid= $(VERSION_LDFLAGS)' -o $@ ./cmd/websockify

deb: $(DIST)/websockify-go_$(VERSION)_$(DEB_ARCH).deb

$(DIST)/websockify-go_$(VERSION)_%.deb: $(DIST)/websockify_$(VERSION)_linux_% $(DOC_FILES) \
		packaging/mkdeb.sh packaging/copyright.sh $(wildcard packaging/debian/*) $(wildcard packaging/systemd/*)
	packaging/mkdeb.sh '$(VERSION)' $* $< $(DOCS) $@

release: $(RELEASE_BINS) $(RELEASE_DEBS)
	cd $(DIST) && sha256sum $(notdir $(RELEASE_BINS) $(RELEASE_DEBS)) > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

clean: clean-dist
clean-dist:
	rm -rf $(DIST)

FORCE:
