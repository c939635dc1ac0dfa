"""Training stages of the InstructGPT recipe: SFT, the reward model, PPO and PPO-ptx."""
