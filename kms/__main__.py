"""The `kms` console script: Flask's command group around create_app."""
from flask.cli import FlaskGroup

from kms import create_app

main = FlaskGroup(create_app=lambda: create_app(), help="kms: handbook, training and hiring for CS teams.")

if __name__ == "__main__":
    main()
