"""Admin forms: a behaviour test edited as YAML, validated like a suite file."""

import yaml
from django import forms

from quality.models import BehaviorTest
from quality.suite import SuiteError, validate_test_definition


class BehaviorTestForm(forms.ModelForm):
    definition_text = forms.CharField(
        label="Test (YAML)",
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "class": "vLargeTextField"}),
        help_text="conversation, message and expect, as in a suite file (see the README).",
    )

    class Meta:
        model = BehaviorTest
        fields = ("agent", "name")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        definition = {k: v for k, v in self.instance.definition.items() if k != "name"}
        if not definition:
            definition = {"message": "Hello!", "expect": {"reply_contains": ["hello"]}}
        self.fields["definition_text"].initial = yaml.safe_dump(
            definition, sort_keys=False, allow_unicode=True, width=100
        )

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("definition_text", "")
        try:
            definition = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise forms.ValidationError({"definition_text": f"Not valid YAML: {error}"}) from None
        if not isinstance(definition, dict):
            raise forms.ValidationError({"definition_text": "Expected a mapping."})
        definition["name"] = cleaned.get("name") or "unnamed"
        try:
            validate_test_definition(definition, source="this test")
        except SuiteError as error:
            raise forms.ValidationError({"definition_text": error.problems}) from None
        cleaned["definition"] = definition
        return cleaned

    def save(self, commit: bool = True) -> BehaviorTest:
        self.instance.definition = self.cleaned_data["definition"]
        return super().save(commit=commit)
