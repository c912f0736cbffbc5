"""Questions for the operator: prompts on stderr, answers from stdin or the terminal."""

import getpass
import sys

from backoffice.cli.common import CommandFailed, _error


class InputClosed(Exception):
    """Standard input ended while a prompt was waiting for an answer."""


def _ask(prompt: str) -> str:
    """A line from the operator; prompts go to stderr so stdout stays clean for scripts."""
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise InputClosed
    return line.strip()


def _ask_secret(prompt: str) -> str:
    # getpass reads the controlling terminal, not a pipe: use it only when stdin is that
    # terminal, so `printf 'pw\npw\n' | backoffice changepassword bob` reads the pipe.
    if sys.stdin.isatty():
        try:
            return getpass.getpass(prompt)
        except EOFError:
            raise InputClosed from None
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise InputClosed
    return line.rstrip("\r\n")


def _ask_new_password() -> str:
    while True:
        password = _ask_secret("Password: ")
        if not password:
            _error("the password cannot be empty.")
            continue
        if _ask_secret("Password (again): ") == password:
            return password
        _error("the passwords do not match; try again.")


def _confirm(warning: str) -> None:
    if not sys.stdin.isatty():
        raise CommandFailed(f"{warning} Pass --yes to go ahead.")
    answer = _ask(f"{warning} Type 'yes' to go ahead: ")
    if answer.lower() != "yes":
        raise CommandFailed("cancelled; nothing was changed.")
