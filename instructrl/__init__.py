"""instructrl: the InstructGPT recipe as software.

The core package holds what train, evals and serve share: model loading, the chat format, the
Policy and RewardModel interfaces, data schemas and loaders, configs and the checkpoint registry.
Importing it stays cheap: nothing here pulls in gradio or fastapi.
"""

__version__ = "0.1.0"
