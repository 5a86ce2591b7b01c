"""Chinese text → index tokens: jieba with a power-industry dictionary, synonyms and stop words.

The same ``tokens()`` runs when an article is indexed and when a caller's question is searched,
so "没电" in a question meets "停电" in an article (both become the canonical "停电"), and "电表",
"表" and "电能表" are one token. The dictionaries are data files under ``knowledge/data/``:

- ``power_dict.txt``: jieba user dictionary (word, frequency, tag) of power terms (阶梯电价, 台区…);
- ``synonyms.txt``: one group per line, canonical term first;
- ``stopwords.txt``: the filler of spoken questions (请问, 我家, 怎么, 啊…).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

_lock = threading.Lock()
_tokenizer = None
_CJK = re.compile(r"[\u3400-\u9fff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[\w\u3400-\u9fff]+")


def _read_lines(name: str) -> list[str]:
    path = DATA_DIR / name
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


@lru_cache(maxsize=1)
def synonyms() -> dict[str, str]:
    """term → canonical term."""
    mapping: dict[str, str] = {}
    for line in _read_lines("synonyms.txt"):
        group = line.split()
        for term in group:
            mapping.setdefault(normalize(term), normalize(group[0]))
    return mapping


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    words: set[str] = set()
    for line in _read_lines("stopwords.txt"):
        words.update(line.split())
    return frozenset(words)


def tokenizer():
    """One jieba tokenizer per process, with the power dictionary and every synonym loaded."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                tk.load_userdict(str(DATA_DIR / "power_dict.txt"))
                for term in synonyms():
                    if len(term) > 1 and _CJK.search(term):
                        tk.add_word(term, freq=max(tk.FREQ.get(term, 0), 800))
                _tokenizer = tk
    return _tokenizer


def normalize(text: str) -> str:
    """Full-width → half-width (NFKC), lower case, unify whitespace."""
    return unicodedata.normalize("NFKC", text or "").lower().strip()


def canonical(token: str) -> str:
    return synonyms().get(token, token)


def tokens(text: str) -> list[str]:
    """Canonical search tokens of ``text`` (with repeats, in order), stop words removed."""
    text = normalize(text)
    if not text:
        return []
    stop = stopwords()
    out: list[str] = []
    for word in tokenizer().cut_for_search(text):
        word = word.strip()
        if not word or not _WORD.fullmatch(word):
            continue
        word = canonical(word)
        if word in stop:
            continue
        out.append(word)
    return out


def unique_tokens(text: str) -> list[str]:
    return list(dict.fromkeys(tokens(text)))


def bigrams(text: str) -> list[str]:
    """Character bigrams of the Chinese runs of ``text`` (the typo-tolerant fallback index)."""
    grams: list[str] = []
    for run in _CJK_RUN.findall(normalize(text)):
        if len(run) == 1:
            continue
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def query_bigrams(text: str) -> list[str]:
    """Bigrams of a question, without those made only of filler characters (我家, 请问…)."""
    stop = stopwords()
    seen: dict[str, None] = {}
    for gram in bigrams(text):
        if gram in stop or (gram[0] in stop and gram[1] in stop):
            continue
        seen.setdefault(gram, None)
    return list(seen)


def normalized_query(text: str) -> str:
    """The key a search gap is counted under: its sorted canonical tokens (or the text itself)."""
    toks = sorted(set(tokens(text)))
    return " ".join(toks)[:200] if toks else re.sub(r"\s+", "", normalize(text))[:200]
