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
    if not math.isfinite(float(s.max()) - float(s.min())):  # every margin and shifted score would overflow
        raise ConfigError(f"scores must differ by less than {np.finfo(np.float64).max:.4g}, got "
                          f"{float(s.max()):g} and {float(s.min()):g}")
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


def _term(value: float) -> str:
    """A number written after an operator: a negative one in parentheses ("1000 − (−1000)", not "1000 − −1000")."""
    text = _num(value)
    return f"({text})" if text.startswith("−") else text


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
        lines.append(f"  j = {j}: max(0, {_num(v)} − {_term(s[y])} + {svm['margin']:g}) = max(0, {_num(raw)})"
                     f" = {_num(svm['margins'][j])}")
    terms = " + ".join(_num(m) for j, m in enumerate(svm["margins"]) if j != y)
    lines += [f"  L_i = {terms} = {_num(svm['loss'])}", "",
              "Softmax (cross-entropy):  L_i = −log(e^(s_y) / Σ_k e^(s_k))",
              f"  shift by the largest score {_num(soft['shift'])} (same probabilities, no overflow)",
              "  e^(s_k − max) = " + ", ".join(_num(e) for e in soft["exp_shifted"])
              + f";  sum = {_num(sum(soft['exp_shifted']))}",
              "  p_k = " + ", ".join(_num(p) for p in soft["probabilities"])]
    lines += _softmax_loss_lines(s, y, soft)
    lines += ["", "Gradients ∂L_i/∂s (what backprop sends to W and b):",
              "  SVM:     " + ", ".join(_num(g) for g in svm["dscores"]),
              "  softmax: " + ", ".join(_num(g) for g in soft["dscores"]) + "   (= p − one-hot(y))"]
    if math.isclose(soft["loss"], 0.0, abs_tol=1e-12):
        lines.append("  (the correct class already takes all the probability)")
    return "\n".join(lines)


def _softmax_loss_lines(s, y: int, soft: dict) -> list[str]:
    """``L_i = −log(p_y)``; or, when ``p_y`` underflows (0, or too small to hold its digits), the log-sum-exp form
    that the loss is computed in, whose numbers stay finite."""
    p_y = soft["probabilities"][y]
    if p_y >= np.finfo(np.float64).tiny:
        return [f"  L_i = −log(p_{y}) = −log({_num(p_y)}) = {_num(soft['loss'])}"]
    shift, total = soft["shift"], sum(soft["exp_shifted"])
    return [f"  p_{y} = e^({_num(s[y] - shift)}) / {_num(total)} underflows (it shows as {_num(p_y)}), so L_i comes "
            "from the log-sum-exp form:",
            "  L_i = −s_y + log Σ_j e^(s_j) = −s_y + max + log Σ_j e^(s_j − max)",
            f"      = −{_term(s[y])} + {_term(shift)} + log({_num(total)}) = {_num(soft['loss'])}"]
