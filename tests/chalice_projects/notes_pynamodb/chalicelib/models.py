import os

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class OwnerIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-owner"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)


class Note(Model):
    class Meta:
        table_name = os.environ.get("NOTES_TABLE", "notes")
        region = os.environ.get("AWS_REGION", "us-east-1")

    note_id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    text = UnicodeAttribute()
    edits = NumberAttribute(default=0)
    by_owner = OwnerIndex()
