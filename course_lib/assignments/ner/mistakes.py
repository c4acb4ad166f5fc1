"""Sample mistakes of assignment 06, each with the exercises it must cost (graded in-process by the unit tests,
through real autograding by the end-to-end tests).

Each costs the exercise where it is made, and some also those that use the function: ``entity_scores`` reads spans
with the student's ``bio_decode``; ``train_tagger`` scores every epoch with the student's ``predict_tags`` and
``entity_scores`` (tags for the padding too make the dev scores fail, so no tagger is trained); a case-sensitive
vocabulary gives the tagger word ids other than those the grader codes the test plays with. Training without
word dropout (``WORD_DROPOUT = 0.0``, a plain cell) costs nothing in-process and the tagger through real
autograding: the model memorises the training names and finds few of the test plays' new ones
(benchmarks/results/ner_study.md).
"""
from course_lib.grading.samples import Mistake

MISTAKES: dict[str, Mistake] = {m.name: m for m in (
    Mistake("no_word_dropout", "",
            "WORD_DROPOUT = 0.25",
            "WORD_DROPOUT = 0.0",
            costs=("tagger",),
            description="the tagger trained without word dropout: it memorises the training names"),
    Mistake("i_continues_any_span", "bio_decode",
            'continues = prefix == "I" and kind == tag_type',
            'continues = prefix == "I" and kind is not None',
            costs=("bio_decode", "entity_scores"),
            description="an I- tag continues the span before it whatever that span's type (B-PER I-LOC read as "
                        "one span)"),
    Mistake("f1_arithmetic_mean", "entity_scores",
            "f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0",
            "f1 = (precision + recall) / 2",
            costs=("entity_scores",),
            description="F1 as the arithmetic mean of precision and recall, not their harmonic mean"),
    Mistake("gazetteer_shortest_match", "gazetteer_baseline",
            "for n in range(min(longest, len(tokens) - i), 0, -1):",
            "for n in range(1, min(longest, len(tokens) - i) + 1):",
            costs=("baselines",),
            description="the gazetteer takes the shortest training name that matches ('Hamlet' in 'Lord Hamlet'), "
                        "not the longest"),
    Mistake("vocabulary_case_sensitive", "build_vocabulary",
            "counts = collections.Counter(token.lower() for tokens in sentences for token in tokens)",
            "counts = collections.Counter(token for tokens in sentences for token in tokens)",
            costs=("build_vocabulary", "tagger"),
            description="the vocabulary counts 'The' and 'the' apart (words not lower-cased)"),
    Mistake("dropout_hits_unknown_words", "word_dropout",
            "dropped = (x >= FIRST_WORD_ID) & (rng.random(x.shape) < rate)",
            "dropped = (x > PAD) & (rng.random(x.shape) < rate)",
            costs=("word_dropout",),
            description="word dropout also redraws ids that are already out of vocabulary"),
    Mistake("predict_tags_padding", "predict_tags",
            "return [[TAGS[t] for t in row[m]] for row, m in zip(best, np.asarray(mask, dtype=bool))]",
            "return [[TAGS[t] for t in row] for row in best]",
            costs=("predict_tags", "tagger"),
            description="predict_tags returns tags for the padding positions too"),
    Mistake("confusion_transposed", "tag_confusion",
            "matrix[TAG_IDS[a], TAG_IDS[b]] += 1",
            "matrix[TAG_IDS[b], TAG_IDS[a]] += 1",
            costs=("tag_confusion",),
            description="the confusion matrix indexed [predicted, gold]"),
)}
