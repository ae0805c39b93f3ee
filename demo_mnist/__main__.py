"""``python -m demo_mnist --endpoint URL --model NAME ...``: the drawing board alone."""

from demo_mnist.board import main

main()
