"""Forms of the Content pages."""

from __future__ import annotations

from django import forms


class FolderForm(forms.Form):
    name = forms.CharField(label="Folder name", max_length=200)


class UploadForm(forms.Form):
    file = forms.FileField(label="File")


class RenameForm(forms.Form):
    name = forms.CharField(label="New name", max_length=200)
