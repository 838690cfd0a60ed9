"""The curriculum's concepts (../shared/curriculum.md), by the key a lesson file names in
its ``concepts`` list. The README's concept table and the coverage test read this."""
from __future__ import annotations

CONCEPTS: dict[str, str] = {
    "critical_points": "critical points: local minimum vs saddle",
    "taylor": "second-order Taylor model",
    "saddles_common": "saddles are common in high dimensions",
    "step_limit": "curvature limits the step",
    "batch_sizes": "batch vs mini-batch vs stochastic GD",
    "small_large_batch": "small vs large batch",
    "momentum": "momentum (course form)",
    "nesterov": "Nesterov (NAG)",
    "adagrad": "AdaGrad",
    "rmsprop": "RMSProp",
    "adam": "Adam = momentum + RMSProp",
    "ewa": "exponentially weighted average",
    "adam_family": "AdamW, AMSGrad, RAdam, Nadam",
    "lr_decay": "learning-rate decay",
    "warmup": "warm-up",
    "softmax": "softmax",
    "ce_vs_mse": "cross-entropy vs MSE for classification",
    "normalization": "feature normalization",
    "initialization": "weight initialization",
    "vanishing": "vanishing gradients",
    "relu": "ReLU and variants",
    "dropout": "dropout",
    "l2": "L2 regularization / weight decay",
    "early_stopping": "early stopping",
    "gradient_check": "gradient check",
    "overfitting": "overfitting vs underfitting",
}
