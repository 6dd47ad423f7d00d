"""The old server's meeting models, field for field (SPEC section 1)."""
import uuid

from django.conf import settings
from django.db import models


class Meeting(models.Model):
    TYPE_CHOICES = (
        ("public", "Public"),
        ("private", "Private"),
    )
    STATUS_CHOICES = (
        ("active", "Active"),
        ("ended", "Ended"),
    )

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    type_of = models.CharField(max_length=10, choices=TYPE_CHOICES, default="public")
    created_on = models.DateTimeField(auto_now_add=True)
    room_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    scheduled_date = models.DateTimeField()
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default="active")

    def __str__(self):
        return self.title


class Message(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="messages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    content = models.TextField()
    timestamp = models.DateTimeField(auto_now_add=True)


class Signal(models.Model):
    SIGNAL_TYPES = (
        ("offer", "Offer"),
        ("answer", "Answer"),
        ("ice", "ICE Candidate"),
    )

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="signals")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    signal_type = models.CharField(max_length=10, choices=SIGNAL_TYPES)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)


class Recording(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="recordings")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    file_url = models.URLField()
    created_at = models.DateTimeField(auto_now_add=True)


class ParticipantState(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participant_states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    audio_muted = models.BooleanField(default=False)
    video_stopped = models.BooleanField(default=False)
    in_call = models.BooleanField(default=True)
    raised_hand = models.BooleanField(default=False)
    screen_sharing = models.BooleanField(default=False)

    class Meta:
        unique_together = ("meeting", "user")
