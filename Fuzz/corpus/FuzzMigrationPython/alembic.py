"""add

Revision ID: 3f2a9c1d
"""
revision = "3f2a9c1d"
down_revision = ("a1b2", "b7e1")
branch_labels = None
def upgrade():
    op.add_column("users", sa.Column("nick", sa.Text()))
    op.create_table("t", sa.Column("id", sa.Integer()))
