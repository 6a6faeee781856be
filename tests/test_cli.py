"""The command line as a newcomer uses it: real processes, real output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_classify_prints_one_json_object_per_argument() -> None:
    result = run("classify", "mdp oublié", "Cette adresse mail est déjà utilisée")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["intent"] for line in lines] == ["forgot_password", "email_in_use"]
    assert lines[0]["text"] == "mdp oublié"
    assert all({"text", "intent", "score", "candidates"} <= line.keys() for line in lines)


def test_classify_reads_stdin_and_reports_days() -> None:
    result = run(
        "classify",
        stdin="adresse supprimée, réutilisable dans 30 jours\n\nquel temps fait-il ?\n",
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0]["intent"] == "email_deleted" and lines[0]["days"] == 30
    assert lines[1]["intent"] == "none"


def test_classify_and_chat_take_bytes_that_are_not_utf8() -> None:
    # A terminal in Latin-1: "ningún" typed as the byte 0xFA.
    result = run("classify", "no me llega ning\udcfan correo de parallels")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["text"] == "no me llega ning\ufffdn correo de parallels"
    assert record["intent"] == "no_email_received"
    chat = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="no me llega ning\xfan correo de parallels\n".encode("latin-1"),
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert chat.returncode == 0, chat.stderr.decode("utf-8", "replace")
    assert "Traceback" not in chat.stderr.decode("utf-8", "replace")
    assert "Quel e-mail n'avez-vous pas reçu" in chat.stdout.decode("utf-8")


def test_check_passes_on_the_shipped_catalogue() -> None:
    result = run("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:")


def test_check_names_file_entry_and_reason_of_a_broken_catalogue(tmp_path: Path) -> None:
    broken = (ROOT / "intents" / "catalogue.toml").read_text("utf-8")
    broken = broken.replace(
        'label = "Adresse oubliée"', 'label = "Une adresse que j\'ai oubliée hier"'
    )
    path = tmp_path / "catalogue.toml"
    path.write_text(broken, "utf-8")
    result = run("check", "--catalogue", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr
    assert "intent forgot_email (label)" in result.stderr
    assert "at most 20 characters" in result.stderr


def test_check_reports_invalid_toml_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text("[[intents]\nid = ", "utf-8")
    result = run("check", "--catalogue", str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not valid TOML" in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_chat_holds_a_conversation_in_the_terminal() -> None:
    result = run("chat", stdin="je n'arrive pas à me connecter\n1\nnon\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "1. Mot de passe oublié" in out
    assert "« Mot de passe oublié »" in out
    assert "Est-ce que cela a résolu votre problème ?" in out
    assert "conseiller" in out.split("vous> non")[1]


def test_serve_rejects_a_bad_setting_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={"BOT_DATABASE_URL": "mysql://nope", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid setting BOT_DATABASE_URL")


def test_serve_rejects_a_lease_that_a_reply_on_its_way_could_outlast(tmp_path: Path) -> None:
    """A reply's "seen" mark and its send may each take BOT_SEND_TIMEOUT: a lease that runs
    out first would let a second claim send the same reply again."""
    env = {
        "BOT_LEASE_SECONDS": "15",
        "BOT_SEND_TIMEOUT": "10",
        "BOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
        "BOT_PORT": "0",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid setting BOT_LEASE_SECONDS")
    assert "BOT_SEND_TIMEOUT" in result.stderr


def test_an_unwritable_database_path_is_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    from tests.serving import run_bot

    (tmp_path / "a-file").write_text("not a folder")
    for path in (tmp_path / "a-file" / "bot.sqlite3", Path("/proc/bot.sqlite3")):
        env = {"BOT_DATABASE_URL": f"sqlite:///{path}", "BOT_PORT": "0"}
        for args in (("serve", "--host", "127.0.0.1"), ("agent", "add", "Ana"), ("db", "upgrade")):
            result = run_bot(*args, cwd=tmp_path, env=env)
            assert result.returncode == 2, (args, result.stderr)
            assert "Traceback" not in result.stderr, result.stderr
            [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
            assert str(path.parent) in line, line  # which file, and what went wrong


def test_a_port_in_use_is_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    import socket

    from tests.serving import run_bot

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = {"BOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3"}
        result = run_bot("serve", "--host", "127.0.0.1", "--port", port, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert port in line and "address already in use" in line
