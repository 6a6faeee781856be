"""The learned reading (intents/model.npz): reproducible from the repository's own data, kept
apart from the held-out sets, loaded without the libraries that trained it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from bench.anger import load as load_anger
from bench.devset import load
from bench.replies import load as load_replies
from intents import anger, replies, safety
from intents.catalogue import Catalogue
from intents.matcher import Matcher
from intents.model import HELD_OUT_SETS, MODEL_PATH, Model, main, same_words, training_examples
from tests.corpus import (
    Conversation,
    angry_messages,
    first_messages,
    load_corpus,
    replies_to_answers,
    safety_messages,
)

ROOT = Path(__file__).resolve().parent.parent


def test_training_again_gives_the_shipped_model(tmp_path: Path) -> None:
    out = tmp_path / "model.npz"
    assert main(["train", "--out", str(out)]) == 0
    shipped, again = Model.load(MODEL_PATH), Model.load(out)
    hint = "intents/model.npz is not what the data trains: run make model"
    assert again.intents == shipped.intents, hint
    assert again.names == shipped.names, hint
    assert np.allclose(again.weights, shipped.weights, atol=1e-4), hint
    assert np.allclose(again.bias, shipped.bias, atol=1e-4), hint


@pytest.mark.parametrize(
    ("reading", "path", "labels"),
    [
        (replies, replies.REPLIES_PATH, replies.LABELS),
        (anger, anger.ANGER_PATH, anger.LABELS),
        (safety, safety.SAFETY_PATH, safety.LABELS),
    ],
    ids=["replies", "anger", "safety"],
)
def test_training_again_gives_the_shipped_readings_of_replies_anger_and_safety(
    tmp_path: Path, reading: ModuleType, path: Path, labels: tuple[str, ...]
) -> None:
    out = tmp_path / path.name
    assert reading.main(["train", "--out", str(out)]) == 0
    shipped, again = Model.load(path), Model.load(out)
    hint = f"intents/{path.name} is not what the data trains: run make model"
    assert again.intents == shipped.intents == labels, hint
    assert again.names == shipped.names, hint
    assert np.allclose(again.weights, shipped.weights, atol=1e-4), hint
    assert np.allclose(again.bias, shipped.bias, atol=1e-4), hint


def test_it_never_learns_from_a_held_out_message(catalogue: Catalogue) -> None:
    normalize = Matcher(catalogue, model=None).normalizer.normalize
    held_out = {
        **{name: [text for _, text in load(name)] for name in HELD_OUT_SETS},
        "sealed replies": [r.text for r in load_replies("sealed")],
        "sealed conversations": [
            t.say for c in load_corpus("sealed") for t in c.turns if t.say is not None
        ],
    }
    for reading, examples in (
        ("problems", training_examples(normalize, catalogue)),
        ("replies", replies.examples(normalize, load_replies("dev"))),
        ("anger", anger.examples(normalize, catalogue, load_anger("dev"))),
        ("safety", safety.examples(normalize, catalogue)),
    ):
        learned = {same_words(text) for _, _, text in examples}
        for name, texts in held_out.items():
            # Compared by the machine and counted, never shown: sealed texts are not read.
            seen = sum(same_words(text) in learned for text in texts)
            assert seen == 0, f"the reading of {reading} learns {seen} messages of {name}"


def test_it_learns_from_what_the_development_conversations_expect() -> None:
    # Labels come from what the bot must do, never from what it did: training twice gives
    # the same model whatever the bot reads today.
    conversation = Conversation.model_validate(
        {
            "id": "feedback-dev-999",
            "theme": "feedback",
            "part": "dev",
            "turns": [
                {"say": "bonsoir", "expect": "greet"},
                {"say": "jai oublié mon mdp", "expect": "answer", "intents": ["forgot_password"]},
                {"say": "je regarde ce soir", "expect": "wait"},
                {
                    "say": "toujours rien reçu, c'est une blague ?",
                    "expect": "escalate",
                    "reason": "not_solved",
                    "acknowledge": True,
                },
                {"say": "merci", "expect": "silent"},
            ],
        }
    )
    assert first_messages([conversation]) == [
        ("greeting", "bonsoir"),
        ("forgot_password", "jai oublié mon mdp"),
    ]
    assert replies_to_answers([conversation]) == [
        ("forgot_password", "wait", "je regarde ce soir"),
        ("forgot_password", "no", "toujours rien reçu, c'est une blague ?"),
    ]
    assert angry_messages([conversation]) == ["toujours rien reçu, c'est une blague ?"]
    hacked = Conversation.model_validate(
        {
            "id": "safety-dev-999",
            "theme": "safety",
            "part": "dev",
            "turns": [
                {"say": "mdp oublié", "expect": "answer", "intents": ["forgot_password"]},
                {"say": "quelqu'un a changé mon mail", "expect": "escalate", "reason": "hacked"},
                {"say": "vite svp", "expect": "silent"},
            ],
        }
    )
    # What is typed once a person has the conversation is no lesson.
    assert safety_messages([conversation, hacked]) == [
        ("none", "bonsoir"),
        ("none", "jai oublié mon mdp"),
        ("none", "je regarde ce soir"),
        ("none", "toujours rien reçu, c'est une blague ?"),
        ("none", "mdp oublié"),
        ("hacked", "quelqu'un a changé mon mail"),
    ]


def test_the_bot_reads_without_the_training_libraries() -> None:
    # scikit-learn and SciPy are development dependencies: the bot needs NumPy alone.
    code = (
        "import sys; sys.modules['sklearn'] = None; sys.modules['scipy'] = None\n"
        "from intents.catalogue import load_catalogue\n"
        "from intents.reader import Reader\n"
        "reader = Reader(load_catalogue())\n"
        "print(reader.read('Bjr, mon mdp me revient plus, comment le récupérer ?').intent)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "forgot_password"


def test_its_probabilities_are_sound_for_any_text(catalogue: Catalogue) -> None:
    matcher = Matcher(catalogue)
    assert matcher.model is not None
    for text in ("", "?", "42", "🙂🙂🙂", "x" * 100_000, "mot de passe " * 5_000):
        p = matcher.model.probabilities(matcher.normalizer.normalize(text), text)
        assert p.shape == (len(catalogue.intents),)
        assert np.all(p >= 0) and abs(float(p.sum()) - 1) < 1e-5


def test_readings_read_together_give_each_its_own_probabilities(catalogue: Catalogue) -> None:
    """The matcher's reading and the safety one, their features looked up once for both,
    give what each gives alone, to the bit."""
    learned = Model.load(safety.SAFETY_PATH)
    matcher = Matcher(catalogue, also=[learned])
    assert matcher.model is not None
    texts = [t for _, t in load("devset")[:300]]
    texts += ["", "🙂", "quelqu'un a changé mon mot de passe sans moi", "mot de passe " * 500]
    for text in texts:
        match = matcher.match(text)
        for model in (matcher.model, learned):
            alone = model.probabilities(match.normalized, text)
            if match.learned:
                assert match.learned[model].tobytes() == alone.tobytes(), text
