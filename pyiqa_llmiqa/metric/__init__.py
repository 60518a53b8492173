"""The metric: ``llmiqa_arch.LLMIQA`` (the pyiqa arch) runs the stages for a batch of images.
Beside it: the result record (``assessment``), the checks made before anything loads
(``preflight``) and the drawing of what the metric saw (``explain``)."""
