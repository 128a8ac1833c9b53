"""The project itself: packaging, start-up time, and the layers the imports must respect."""
