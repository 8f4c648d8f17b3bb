#!/usr/bin/env bash
# A local stand-in for python:3.11-slim where no image hub is reachable: Debian bookworm
# (Python 3.11) made with debootstrap from Debian's own archive, imported as a Docker image.
#
#   deploy/base-image.sh [TAG]        prints the tag; builds only when it is missing
#
# Cached twice: the image itself (docker image inspect) and the root file system as a tarball
# in $ARTICLE_BOT_CACHE (default /var/cache/article-bot), so a wiped engine re-imports in
# seconds instead of re-running debootstrap (~3-5 min).
set -euo pipefail
TAG=${1:-article-bot-base:bookworm-py311}
CACHE=${ARTICLE_BOT_CACHE:-/var/cache/article-bot}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
TARBALL="$CACHE/base-bookworm-py311.tar"
# python3-venv: `make install` makes a venv; make: the Dockerfile runs `make deps`;
# ca-certificates: pip over HTTPS when the build is not offline.
PACKAGES=python3,python3-venv,make,ca-certificates

if docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "$TAG"
    exit 0
fi
mkdir -p "$CACHE/debs"
if [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >&2
    root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    echo "building a Debian base image with debootstrap (a few minutes, once)" >&2
    debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" \
        bookworm "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    # what python:3.11-slim leaves out as well: package lists, docs, man pages
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
    # Debian's python3 marks the system environment externally managed; pip only ever runs
    # inside the venv, so the marker stays.
    tar -C "$root" -cf "$TARBALL.part" .
    mv "$TARBALL.part" "$TARBALL"
fi
docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$TARBALL" "$TAG" >/dev/null
echo "$TAG"
