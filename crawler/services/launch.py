"""Every `scrapy crawl` the commands start: the project settings, one command line shape, secrets in the environment.

`crawler crawl` runs Scrapy in its own process; `crawler crawl --workers N`, `crawler schedule` and `crawler demo`
start child processes. They all build them here, so the store and frontier URLs (which may hold a password) go
to every child in its environment, which only its owner can read, never on its command line, which `ps` shows
to every user of the machine.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crawler.core.redact import passwords_in
from crawler.core.status import CommandError

PROJECT_SETTINGS = "crawler.crawl.settings"
"""The project's Scrapy settings module: found by name, so a crawl runs from any folder and from a wheel."""

SECRET_SETTINGS = ("CRAWLER_STORE", "CRAWLER_FRONTIER")
"""Settings whose URL may hold a password: a child gets them in its environment, never on its command line."""


def use_project_settings(env: dict[str, str] | os._Environ[str] | None = None) -> None:
    """Point Scrapy at the project settings unless the user chose a settings module of their own."""
    (os.environ if env is None else env).setdefault("SCRAPY_SETTINGS_MODULE", PROJECT_SETTINGS)


def setting_pairs(values: Iterable[str], flag: str) -> list[str]:
    """`-a`/`-s` NAME=VALUE options as command-line arguments (CommandError for a value without `=`)."""
    out: list[str] = []
    for value in values:
        if "=" not in value:
            raise CommandError(f"{flag} {value!r}: use NAME=VALUE")
        out += [flag, value]
    return out


def split_secrets(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """`argv` without its store and frontier settings (`-s NAME=VALUE`, `-sNAME=VALUE`, `--set NAME=VALUE`,
    `--set=NAME=VALUE`) whose value holds a password, and the values of all of them (the last one given wins,
    as in Scrapy).

    A setting whose last value has no password stays on the command line too: a settings module of the user's
    own that does not read the environment still gets the store it was given, never the default one."""
    options: list[tuple[list[str], str | None, str]] = []  # (the arguments, the secret setting's name, its value)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-s", "--set") and i + 1 < len(argv):
            value, step = argv[i + 1], 2
        elif arg.startswith("--set="):
            value, step = arg[len("--set=") :], 1
        elif arg.startswith("-s") and not arg.startswith("--") and len(arg) > 2:
            value, step = arg[2:], 1
        else:
            options.append(([arg], None, ""))
            i += 1
            continue
        name, _, rest = value.partition("=")
        options.append((argv[i : i + step], name.strip() if name.strip() in SECRET_SETTINGS else None, rest))
        i += step
    found = {name: rest for _, name, rest in options if name}
    hidden = {name for name, value in found.items() if passwords_in(value)}
    kept = [a for args, name, _ in options if name not in hidden for a in args]
    return kept, found


def crawl_argv(
    spider: str, spider_args: Iterable[str] = (), settings: Iterable[str] = (), extra: Iterable[str] = ()
) -> list[str]:
    """`scrapy crawl <spider>` with `-a`/`-s` NAME=VALUE options and more arguments after them (a leading `--`
    dropped), secrets included: the command line a user would type."""
    rest = list(extra)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return ["scrapy", "crawl", spider, *setting_pairs(spider_args, "-a"), *setting_pairs(settings, "-s"), *rest]


@dataclass(frozen=True)
class Child:
    """A `scrapy crawl` child process to start: its command line (no secret on it) and its environment."""

    argv: list[str]
    env: dict[str, str]

    def with_settings(self, **settings: object) -> Child:
        """The same child with more `-s NAME=VALUE` settings (a secret one goes to its environment)."""
        argv, secrets = split_secrets([a for name, value in settings.items() for a in ("-s", f"{name}={value}")])
        return Child([*self.argv, *argv], {**self.env, **secrets})


def child(argv: list[str], environ: Mapping[str, str] | None = None, secrets: Mapping[str, str] | None = None) -> Child:
    """The child that runs `argv` (a `scrapy crawl ...` command line, as `crawl_argv` gives) with this Python:
    the store and frontier settings taken off its command line into its environment (with `secrets`, which
    win), and the project settings unless the environment names others."""
    kept, found = split_secrets(argv)
    env = dict(os.environ if environ is None else environ)
    env.update(found)
    env.update(secrets or {})
    use_project_settings(env)
    return Child([sys.executable, "-m", *kept], env)
