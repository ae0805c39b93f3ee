"""The MNIST demo: training script, committed models and the drawing-board web app."""
