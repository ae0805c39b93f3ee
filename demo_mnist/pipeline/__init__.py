"""The demo Kubeflow pipeline (train, export, ``deploy_model``, accuracy gate); needs ``.venv-kfp``."""
