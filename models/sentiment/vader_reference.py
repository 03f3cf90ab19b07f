#!/usr/bin/env python3
"""Writes VADER's own compound scores (the Python package, vaderSentiment 3.3.2) for every
comment of the team's labelled feedback set and VADER's example sentences, so the Rust port
in crates/feedback is compared with the original rule for rule.

    python vader_reference.py VADER_WHEEL > tests/data/feedback/vader_reference.tsv
"""
import sys
import zipfile
import types

wheel = zipfile.ZipFile(sys.argv[1])
module = types.ModuleType("vaderSentiment.vaderSentiment")
source = wheel.read("vaderSentiment/vaderSentiment.py").decode("utf-8")
exec(compile(source, "vaderSentiment.py", "exec"), module.__dict__)
lexicon = wheel.read("vaderSentiment/vader_lexicon.txt").decode("utf-8")
emoji = wheel.read("vaderSentiment/emoji_utf8_lexicon.txt").decode("utf-8")


class Analyzer(module.SentimentIntensityAnalyzer):
    def __init__(self):
        self.lexicon_full_filepath = lexicon
        self.lexicon = self.make_lex_dict()
        self.emoji_full_filepath = emoji
        self.emojis = self.make_emoji_dict()


analyzer = Analyzer()
sentences = [
    "VADER is smart, handsome, and funny.", "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.", "At least it isn't a horrible book.", "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.", "Today only kinda sux! But I'll get by, lol",
    "Not bad at all", "Sentiment analysis has never been this good!", "Roger Dodger is one of the least compelling variations on this theme.",
    "Without a doubt, excellent idea.", "With VADER, sentiment analysis is the shit!", "Is it good?? Really???",
]
for line in open("tests/data/feedback/labelled.tsv", encoding="utf-8"):
    if line.startswith("#") or line.startswith("label\t") or not line.strip():
        continue
    sentences.append(line.rstrip("\n").split("\t", 2)[2])
print("# compound\tsentence (vaderSentiment 3.3.2, written by models/sentiment/vader_reference.py)")
for s in sentences:
    print(f"{analyzer.polarity_scores(s)['compound']}\t{s}")
