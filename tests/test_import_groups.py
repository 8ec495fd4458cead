"""Import groups through the command line: the local prefix is the module path from go.mod by
default, or `local-prefixes` from .goinstrument.toml; the result is goimports -local clean."""

from __future__ import annotations

import subprocess

from gitrepo import GitRepo
from gotools import describe, go_environ, goimports_bin

SHOP = """package shop

import (
	"context"

	"example.com/shop/store"
)

func Get(ctx context.Context) string {
	return store.Name
}
"""


def goimports_l(repo: GitRepo, prefix: str) -> str:
    proc = subprocess.run([goimports_bin(), "-local", prefix, "-l", "."], cwd=repo.root, capture_output=True, text=True, env=go_environ())
    assert proc.returncode == 0, describe(proc, repo.root)
    return proc.stdout


def test_the_module_path_is_the_default_local_prefix(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": SHOP, "store/store.go": 'package store\n\nconst Name = "s"\n'})
    assert repo.goinstrument("shop.go").returncode == 0
    assert '\t"go.opentelemetry.io/otel"\n\n\t"example.com/shop/store"\n' in repo.read("shop.go")
    assert goimports_l(repo, "example.com/shop") == ""


def test_local_prefixes_from_the_configuration_file(tmp_path):
    src = SHOP.replace("example.com/shop/store", "github.com/acme/store")
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": src})
    repo.write(".goinstrument.toml", 'local-prefixes = "github.com/acme/"\n')
    assert repo.goinstrument("shop.go").returncode == 0
    assert '\t"go.opentelemetry.io/otel"\n\n\t"github.com/acme/store"\n' in repo.read("shop.go")
    assert goimports_l(repo, "github.com/acme/") == ""
