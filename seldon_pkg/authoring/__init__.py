"""What a model author runs before deploying: ``scaffold`` (``seldon-pkg init``) and
``model_tests`` (``seldon-pkg test``, the folder's tests in the model's own environment)."""
