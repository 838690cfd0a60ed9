"""A small MLP classifier on 2-D toy data: data sets, model, losses, compiled training,
sharpness (top Hessian eigenvalue) and gradient checking.

    from classifier import datasets, train
    data = datasets.make_dataset("moons", n_points=1000, noise=0.1, seed=0)
    result = train.train(data, train.TrainConfig(hidden=(16, 16), optimizer="adam", batch_size=32),
                         on_chunk=lambda done, total: ...)
    xs, ys, probs = probability_grid(result.snapshot_at(100), data, "tanh")

(The functions train/compare stay in ``classifier.train``: re-exporting ``train`` here
would shadow the module of the same name.)
"""
from classifier import boundary, census, datasets, gradcheck, landscape, losses, model, sharpness, spectrum, train
from classifier.boundary import probability_grid
from classifier.datasets import Dataset, make_dataset
from classifier.gradcheck import GradCheckResult, gradient_check
from classifier.sharpness import top_hessian_eigenvalue
from classifier.train import TrainConfig, TrainResult

__all__ = [
    "boundary", "census", "datasets", "gradcheck", "landscape", "losses", "model", "sharpness", "spectrum", "train", "probability_grid",
    "Dataset", "make_dataset", "GradCheckResult", "gradient_check", "top_hessian_eigenvalue",
    "TrainConfig", "TrainResult",
]
