import uuid

from chalice import Chalice, NotFoundError, Response
from chalicelib.models import Note
from pynamodb.exceptions import DoesNotExist

app = Chalice(app_name="notes-pynamodb")


def _load(note_id):
    try:
        return Note.get(note_id)
    except DoesNotExist:
        raise NotFoundError(f"no note {note_id}") from None


@app.route("/notes", methods=["POST"])
def create_note():
    body = app.current_request.json_body
    note = Note(str(uuid.uuid4()), owner=body["owner"], text=body["text"])
    note.save()
    return Response(note.to_simple_dict(), status_code=201)


@app.route("/notes/import", methods=["POST"])
def import_notes():
    with Note.batch_write() as batch:
        for entry in app.current_request.json_body:
            batch.save(Note(str(uuid.uuid4()), owner=entry["owner"], text=entry["text"]))
    return {"imported": len(app.current_request.json_body)}


@app.route("/notes/{note_id}")
def get_note(note_id):
    return _load(note_id).to_simple_dict()


@app.route("/notes/{note_id}", methods=["PUT"])
def edit_note(note_id):
    note = _load(note_id)
    note.update(actions=[Note.text.set(app.current_request.json_body["text"]), Note.edits.add(1)])
    return note.to_simple_dict()


@app.route("/notes/{note_id}", methods=["DELETE"])
def delete_note(note_id):
    _load(note_id).delete()
    return Response(body="", status_code=204)


@app.route("/owners/{owner}/notes")
def notes_of(owner):
    return [note.to_simple_dict() for note in Note.by_owner.query(owner)]


@app.route("/stats")
def stats():
    return {"approximate_count": Note.count()}
