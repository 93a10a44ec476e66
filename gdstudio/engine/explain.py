"""One image's losses, step by step: the lecture's worked example for any scores.

Shared by ``gdstudio explain`` and the GUI's inspector; the numbers come from :mod:`gdstudio.kernels.reference`.
"""

from __future__ import annotations

import math

import numpy as np

from gdstudio.config import SVM_MARGIN, ConfigError
from gdstudio.kernels import reference


def explain_scores(scores, label: int) -> dict:
    """Margins, probabilities, both losses and ``∂L_i/∂s`` for one image's scores.

    Parameters
    ----------
    scores : sequence of float, length C ≥ 2
    label : int, the correct class, in ``range(C)``

    Returns
    -------
    dict with ``scores``, ``label``, ``svm`` {``loss``, ``margins`` (0 for the correct class), ``dscores``} and
    ``softmax`` {``loss``, ``probabilities``, ``exp_shifted``, ``shift``, ``dscores``}.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or len(s) < 2:
        raise ConfigError("scores: give at least two scores, one per class")
    if not np.all(np.isfinite(s)):
        raise ConfigError("scores: every score must be a finite number")
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < len(s):
        raise ConfigError(f"label must be a class index in 0..{len(s) - 1}, got {label!r}")
    S, y = s[None, :], np.array([label])
    svm_loss, svm_dS = reference.svm_data_loss(S, y)
    softmax_loss, softmax_dS = reference.softmax_data_loss(S, y)
    shift = float(s.max())
    exp_shifted = np.exp(s - shift)
    return {
        "scores": s.tolist(),
        "label": int(label),
        "svm": {"loss": svm_loss, "margin": SVM_MARGIN, "margins": reference.svm_margins(S, y)[0].tolist(),
                "dscores": svm_dS[0].tolist()},
        "softmax": {"loss": softmax_loss, "shift": shift, "exp_shifted": exp_shifted.tolist(),
                    "probabilities": reference.softmax_probabilities(S)[0].tolist(),
                    "dscores": softmax_dS[0].tolist()},
    }


def _num(value: float) -> str:
    return f"{value:.4g}".replace("-", "−")


def explain_text(result: dict) -> str:
    """The worked example as text, one line per step of the lecture's arithmetic."""
    s, y = result["scores"], result["label"]
    svm, soft = result["svm"], result["softmax"]
    lines = ["Scores s = W·x + b of one image (class " + str(y) + " is correct):",
             "  " + ", ".join(f"s_{k} = {_num(v)}" + (" ←" if k == y else "") for k, v in enumerate(s)), "",
             f"Multiclass SVM, margin Δ = {svm['margin']:g}:  L_i = Σ_(j≠y) max(0, s_j − s_y + Δ)"]
    for j, v in enumerate(s):
        if j == y:
            continue
        raw = v - s[y] + svm["margin"]
        lines.append(f"  j = {j}: max(0, {_num(v)} − {_num(s[y])} + {svm['margin']:g}) = max(0, {_num(raw)})"
                     f" = {_num(svm['margins'][j])}")
    terms = " + ".join(_num(m) for j, m in enumerate(svm["margins"]) if j != y)
    lines += [f"  L_i = {terms} = {_num(svm['loss'])}", "",
              "Softmax (cross-entropy):  L_i = −log(e^(s_y) / Σ_k e^(s_k))",
              f"  shift by the largest score {_num(soft['shift'])} (same probabilities, no overflow)",
              "  e^(s_k − max) = " + ", ".join(_num(e) for e in soft["exp_shifted"])
              + f";  sum = {_num(sum(soft['exp_shifted']))}",
              "  p_k = " + ", ".join(_num(p) for p in soft["probabilities"]),
              f"  L_i = −log(p_{y}) = −log({_num(soft['probabilities'][y])}) = {_num(soft['loss'])}", "",
              "Gradients ∂L_i/∂s (what backprop sends to W and b):",
              "  SVM:     " + ", ".join(_num(g) for g in svm["dscores"]),
              "  softmax: " + ", ".join(_num(g) for g in soft["dscores"]) + "   (= p − one-hot(y))"]
    if math.isclose(soft["loss"], 0.0, abs_tol=1e-12):
        lines.append("  (the correct class already takes all the probability)")
    return "\n".join(lines)
