"""Sample mistakes of assignment 02, each with the exercises it must cost (graded in-process by the unit tests,
through real autograding by the end-to-end tests).

Each costs the exercise where it is made. One also costs a later exercise, because the later one cannot be judged
without it: windows whose target lies inside the window (``off_by_one_target``) teach the regressor to copy the
window's last value, and a regressor trained on them does little better than the last-value baseline (0.85-1.0
of its MSE on five seeds, where the check needs 0.6). The others leave
the later exercises' points alone: ``horizon_ignored`` is wrong only for horizons above 1 (the regressor uses 1);
a scaler fitted on all the data shifts the scaled values a little but the model is judged on correctly scaled
held-out windows; adding data with both markers in one half is a harder task on which the LSTM still learns the
exercise's one; and the default learning rate does not change the RNN's budget.
"""
from course_lib.grading.samples import Mistake

MISTAKES: dict[str, Mistake] = {m.name: m for m in (
    Mistake("off_by_one_target", "make_windows",
            "y = series[window + horizon - 1:window + horizon - 1 + m]",
            "y = series[window + horizon - 2:window + horizon - 2 + m]",
            costs=("make_windows", "regressor"),
            description="windows off by one: the target is the window's own last value"),
    Mistake("horizon_ignored", "make_windows",
            "y = series[window + horizon - 1:window + horizon - 1 + m]",
            "y = series[window:window + m]",
            costs=("make_windows",),
            description="horizon ignored: the target is always the next value"),
    Mistake("scaler_on_all_data", "scale_splits",
            "scaler = fit_scaler(train)",
            "scaler = fit_scaler(np.concatenate([train, val, test]))",
            costs=("scale_splits",),
            description="scaler fitted on all the data (it has seen the test's range: a leak)"),
    Mistake("markers_anywhere", "make_adding_data",
            "first = rng.integers(0, half, size=n)\n    second = rng.integers(half, T, size=n)",
            "first = rng.integers(0, T, size=n)\n    second = (first + rng.integers(1, T, size=n)) % T",
            costs=("make_adding_data",),
            description="adding data with both markers possibly in the same half"),
    Mistake("default_learning_rate", "build_adding_model",
            "optimizer=keras.optimizers.Adam(learning_rate=2e-2, clipnorm=1.0)",
            "optimizer=keras.optimizers.Adam()",
            costs=("adding_lstm",),
            description="the adding-problem LSTM trained with Keras' default learning rate (1e-3)"),
    Mistake("last_value_regressor", "train_regressor",
            "return model.fit(X_train, y_train,",
            "return model.fit(X_train, X_train[:, -1, 0],",
            costs=("regressor",),
            description="a regressor trained to predict the window's last value"),
)}
