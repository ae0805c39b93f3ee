"""seldon_pkg: from a trained model to a prediction service, locally and on Seldon Core.

Version pins live in seldon_pkg/data/constraints.txt (one place, shipped so model environments use them); ranges here only say what works at all.
"""

from setuptools import find_packages, setup

SELDON_CORE_DEPENDENCIES = [
    # seldon-core 1.17.1's dependencies as the model environments get them: the same list as
    # SELDON_CORE_DEPENDENCIES in seldon_pkg/servers/microservice.py, which says why each cap was
    # lifted (tests/test_metadata.py keeps the two equal). seldon-core itself is installed with
    # --no-deps after them (the Makefile), since its own pins hold advisories. setuptools stays
    # out: this environment keeps setuptools<81 (the Makefile) for kubernetes-validate, which
    # imports pkg_resources.
    "flask>=3.1.3,<4",
    "werkzeug>=3.1.6,<4",
    "flask-cors>=6.0.0,<7",
    "gunicorn>=27.0.0,<28",
    "cryptography>=50.0.0",
    "click>=8.3.3",
    "urllib3>=2.7.0,<3",
    "requests>=2.33.0,<3",
    "jinja2>=3.1.6",
    "protobuf>=3.20.3,<4",
    "grpcio<2",
    "grpcio-reflection<1.49",
    "jsonschema<4",
    "Flask-OpenTracing>=1.1.0,<1.2.0",
    "opentracing>=2.2.0,<2.5.0",
    "jaeger-client>=4.1.0,<4.5.0",
    "grpcio-opentracing>=1.1.4,<1.2.0",
    "prometheus-client>=0.7.1,<0.9.0",
    "PyYAML>=5.4,<=6.0.1",
]

SERVE = [*SELDON_CORE_DEPENDENCIES, "numpy>=1.26,<2", "pillow>=10"]
EXTRAS = {
    "serve": SERVE,
    "tf": ["tensorflow-cpu==2.19.*"],
    "onnx": ["onnxruntime>=1.20,<2"],
    "litert": ["ai-edge-litert>=1.2"],
    "k8s": ["kubernetes>=30,<36", "kubernetes-validate>=1.28,<1.29", "jsonschema>=3.2"],
    "train": ["tensorflow-cpu==2.19.*", "tf2onnx>=1.16", "mlxtend>=0.23"],
    "bench": ["matplotlib>=3.7"],
    "storage": ["boto3>=1.34"],
    # Kubeflow Pipelines steps (seldon_pkg.kfp): KFP's protobuf 6 cannot share an environment with
    # seldon-core's protobuf 3, so this extra lives in .venv-kfp (the Makefile), never in dev
    "kfp": ["kfp>=2.17,<3"],
    "lint": ["ruff>=0.8", "mypy>=1.10", "types-PyYAML"],
    "test": [
        "pytest>=8",
        "pytest-timeout>=2.3",
        "playwright>=1.45",
        "hypothesis>=6",
        "dockerfile-parse>=2",
        # coverage-guided fuzzing of the parsers (make fuzz; tests/fuzz/): 3.0 is the last with CPython 3.11 wheels
        "atheris>=3.0,<3.1",
    ],
}
EXTRAS["dev"] = sorted({req for name, group in EXTRAS.items() if name != "kfp" for req in group})

setup(
    name="seldon_pkg",
    version="0.1.0",
    description="Package, serve and deploy deep-learning models with Seldon Core, many side by side",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11,<3.12",  # the code uses enum.StrEnum and datetime.UTC (3.11)
    packages=find_packages(
        include=["seldon_pkg", "seldon_pkg.*", "model_wrappers", "model_wrappers.*", "demo_mnist", "demo_mnist.*"]
    ),
    include_package_data=True,
    package_data={"seldon_pkg": ["data/*", "templates/*"], "demo_mnist": ["models/*", "web/*"]},
    # the CLI, manifests and the local gateway; model processes get their own environments
    install_requires=[
        "pyyaml>=6",
        "click>=8",
        "requests>=2.28",
        "numpy>=1.26,<2",
        "pillow>=10",
        "grpcio>=1.50",
        "aiohttp>=3.9",
        "packaging>=23",
        "uvloop>=0.19; sys_platform != 'win32'",
        "jsonschema>=3.2",
        "psutil>=5.9",
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["seldon-pkg=seldon_pkg.cli:main"]},
)
