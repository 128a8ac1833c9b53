"""Real-time frames: the streaming context, its statistics and the receiver's replay state."""
