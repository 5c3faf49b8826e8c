namespace SidecarInjector.Webhook.Admission;

/// <summary>A request body that is not a usable AdmissionReview; the message is the 400 answer.</summary>
public sealed class AdmissionReviewException(string message) : Exception(message);
