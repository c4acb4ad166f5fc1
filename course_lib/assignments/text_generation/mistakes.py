"""Sample mistakes of assignment 04, each with the exercises it must cost (graded in-process by the unit tests,
through real autograding by the end-to-end tests).

Each costs the exercise where it is made. Two of ``sample``'s also cost ``generate``: generate draws every
character with the student's own ``sample``, and what generate is graded on at a temperature above 0 is exactly
that its text is reproducible under the generator it is given and follows it; a sample that ignores the generator
(or never draws) makes that impossible, and no test of generate could tell whose fault it is without trusting the
kernel. Windows whose target is the current character also cost the two trained models: they learn to copy their
input (held-out cross-entropy near 0 on copies, far above the bigram's on the next character).
"""
from course_lib.grading.samples import Mistake

MISTAKES: dict[str, Mistake] = {m.name: m for m in (
    Mistake("temperature_as_division", "sample",
            "weights = np.exp(logits - logits.max())",
            "weights = probs / temperature",
            costs=("sample",),
            description="the temperature applied to the probabilities as p / T (renormalised, it changes nothing)"),
    Mistake("argmax_always", "sample",
            "if temperature == 0:",
            "if True:",
            costs=("sample", "generate"),
            description="the argmax at every temperature"),
    Mistake("global_numpy_random", "sample",
            "return int(rng.choice(len(weights), p=weights / weights.sum()))",
            "return int(np.random.choice(len(weights), p=weights / weights.sum()))",
            costs=("sample", "generate"),
            description="draws from NumPy's global state instead of the generator passed in"),
    Mistake("target_is_current_char", "make_training_windows",
            "y = encoded[1:m * seq_len + 1].reshape(m, seq_len)",
            "y = encoded[:m * seq_len].reshape(m, seq_len)",
            costs=("make_training_windows", "hello_model", "char_model"),
            description="windows whose target is the current character, not the next"),
    Mistake("index_over_n_inputs", "build_char_model",
            "keras.layers.Embedding(vocab_size, 32),",
            "keras.layers.Reshape((seq_len, 1)), keras.layers.Rescaling(1 / vocab_size),",
            costs=("build_char_model", "hello_model", "char_model"),
            description="each character fed as the scalar index / vocab_size, as the tutorial does"),
)}
