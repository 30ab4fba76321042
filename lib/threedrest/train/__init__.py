"""The training loop and what only it uses: state, checkpoints, the workspace, evaluation.

``loop.py`` is the loop (``train_step``, ``fit``); ``state.py`` what a step reads and changes;
``checkpoint.py`` how a state is saved and restored; ``workspace.py`` what a run reads;
``evaluate.py`` and ``predictions.py`` what it measures and keeps.
"""
