"""Stage 3: the engines that ask a multimodal LLM for a quality level per crop.

``base`` states what every engine returns (``LevelAnswers``) and picks the engine for the options;
a new engine or model family is one more module here.
"""
