"""Sample mistakes of assignment 05, each with the exercises it must cost (graded in-process by the unit tests,
through real autograding by the end-to-end tests).

Each costs the exercise where it is made, and some also the exercises that use the function: ``generate_poem``
draws every character with the student's own ``sample`` (a ``sample`` that keeps the k *least* probable draws
characters the model rules out), ``sonnet_form`` counts with the student's ``count_syllables``, and the trained
``poem_model`` learns from the student's windows (targets that are the current character teach it to copy) and
is built by the student's ``build_poem_model`` (a Bidirectional LSTM reads the character it must predict: the
grader's causality check refuses it).
"""
from course_lib.grading.samples import Mistake

MISTAKES: dict[str, Mistake] = {m.name: m for m in (
    Mistake("temperature_ignored", "sample",
            "logits = np.log(probs) / temperature",
            "logits = np.log(probs)",
            costs=("sample",),
            description="the temperature never applied: every T > 0 draws from p itself"),
    Mistake("top_k_smallest", "sample",
            "logits[logits < np.sort(logits)[-top_k]] = -np.inf",
            "logits[logits > np.sort(logits)[top_k - 1]] = -np.inf",
            costs=("sample", "generate_poem"),
            description="top-k keeps the k least probable characters (the sort read from the wrong end)"),
    Mistake("bigram_normalised_globally", "ngram_baselines",
            "return unigram, pairs / pairs.sum(axis=1, keepdims=True)",
            "return unigram, pairs / pairs.sum()",
            costs=("ngram_baselines",),
            description="the bigram table divided by its total: a joint distribution, not P(next | current)"),
    Mistake("blank_lines_kept", "generate_poem",
            "if line.strip():",
            "if True:",
            costs=("generate_poem",),
            description="blank lines (a poem's end) counted as lines of the poem"),
    Mistake("all_phones_counted", "count_syllables",
            "return sum(phone[-1].isdigit() for phone in pronunciations[key][0])",
            "return len(pronunciations[key][0])",
            costs=("count_syllables", "sonnet_form"),
            description="every phone counted as a syllable, consonants included"),
    Mistake("rhyme_from_the_last_vowel", "rhyme_part",
            "start = (stressed or vowels or [0])[-1]",
            "start = (vowels or [0])[-1]",
            costs=("rhyme_part",),
            description="the rhyme taken from the last vowel, stressed or not (memory would rhyme with see)"),
    Mistake("log2_for_nats", "cross_entropy",
            "nats = float(np.mean(-np.log(chosen)))",
            "nats = float(np.mean(-np.log2(chosen)))",
            costs=("cross_entropy",),
            description="bits reported as nats (log base 2 where the natural log belongs)"),
    Mistake("target_is_current_char", "make_training_windows",
            "return encoded[positions], encoded[positions + 1]",
            "return encoded[positions], encoded[positions]",
            costs=("make_training_windows", "poem_model"),
            description="windows whose target is the current character, not the next"),
    Mistake("bidirectional_peeks", "build_poem_model",
            "keras.layers.LSTM(units, return_sequences=True), keras.layers.Dense",
            "keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True)), keras.layers.Dense",
            costs=("build_poem_model", "poem_model"),
            description="a Bidirectional LSTM: each prediction reads the character it must predict"),
)}
