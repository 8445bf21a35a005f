/*
 * Verdicts (layer: detect): digiKam's ImageQualityCalculator (weighted mean
 * of the damage scores, a weight x20 for any score above 0.9, quality =
 * (1 - damage) x 100), the calibrated profile's worst-criterion calculator,
 * and ImageQualityParser (truncate, <= 10 Rejected,
 * <= 60 Pending, else Accepted), the reason string, and iqs's policy for
 * combining the technical verdict with a network's class (docs/verdict.md).
 * Pure functions of their arguments.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "detect/detect.h"

float iqs_verdict_quality(const float *scores, const float *weights,
                          const int *enabled, int n, float punish_above,
                          float punish_factor)
{
    float wsum = 0, dsum = 0;
    int k, any = 0;

    for (k = 0; k < n; k++) {
        float wk;
        if (!enabled[k])
            continue;
        wk = weights[k];
        if (scores[k] > punish_above)
            wk *= punish_factor;
        wsum += wk;
        dsum += wk * scores[k];
        any = 1;
    }
    if (!any)
        return -1.0f;
    if (!(wsum > 0))
        return 100.0f; /* all weights zero: nothing can damage */
    {
        float q = (1.0f - dsum / wsum) * 100.0f;
        return q < 0 ? 0.0f : q > 100.0f ? 100.0f : q;
    }
}

float iqs_verdict_quality_worst(const float *scores, const float *weights,
                                const int *enabled, int n)
{
    float worst = 0;
    int k, any = 0;

    for (k = 0; k < n; k++) {
        float d;
        if (!enabled[k])
            continue;
        any = 1;
        d = scores[k] * (weights[k] / 100.0f);
        d = d > 1.0f ? 1.0f : d;
        worst = d > worst ? d : worst;
    }
    if (!any)
        return -1.0f;
    return (1.0f - worst) * 100.0f;
}

iqs_label iqs_verdict_label(float quality, int rejected, int accepted)
{
    int q;
    if (!(quality >= 0))
        return IQS_LABEL_NONE;
    q = (int)quality; /* truncation toward zero, as digiKam */
    if (q <= rejected)
        return IQS_LABEL_REJECTED;
    if (q <= accepted)
        return IQS_LABEL_PENDING;
    return IQS_LABEL_ACCEPTED;
}

IQS_API const char *iqs_label_name(iqs_label label)
{
    switch (label) {
    case IQS_LABEL_NONE: return "none";
    case IQS_LABEL_REJECTED: return "rejected";
    case IQS_LABEL_PENDING: return "pending";
    case IQS_LABEL_ACCEPTED: return "accepted";
    }
    return "unknown";
}

/* The criterion that did the most damage: its word and score. */
static void worst(const iqs_assessment *a, const char **word, float *score)
{
    float best = -1;
    *word = "none";
    *score = 0;
#define CAND(bit, val, name)                     \
    if ((a->detectors & (bit)) && (val) > best) { \
        best = (val);                            \
        *word = (name);                          \
        *score = (val);                          \
    }
    CAND(IQS_DETECT_BLUR, a->blur, "blurred")
    CAND(IQS_DETECT_NOISE, a->noise, "noisy")
    CAND(IQS_DETECT_EXPOSURE, a->exposure,
         a->overexposure >= a->underexposure ? "over-exposed"
                                             : "under-exposed")
    CAND(IQS_DETECT_COMPRESSION, a->compression, "compressed")
#undef CAND
}

void iqs_verdict_reason(iqs_assessment *a)
{
    const char *word;
    float s;

    worst(a, &word, &s);
    switch (a->label) {
    case IQS_LABEL_REJECTED:
    case IQS_LABEL_PENDING:
        snprintf(a->reason, sizeof a->reason, "%s: %s %.2f",
                 iqs_label_name(a->label), word, (double)s);
        break;
    case IQS_LABEL_ACCEPTED: {
        /* a->quality may come from the caller (iqs_verdict_combine):
         * clamped, NaN as 0, before the conversion to int */
        const float q = a->quality >= 0.0f ? (a->quality <= 100.0f ? a->quality : 100.0f)
                                           : 0.0f;
        snprintf(a->reason, sizeof a->reason, "accepted: quality %d", (int)q);
        break;
    }
    default:
        snprintf(a->reason, sizeof a->reason, "none: no detector enabled");
        break;
    }
}

IQS_API void iqs_verdict_policy_init(iqs_verdict_policy *policy)
{
    if (!policy)
        return;
    memset(policy, 0, sizeof *policy);
    policy->size = sizeof *policy;
    policy->severe = 0.95f;
    policy->technical_veto = 1;
    policy->nima_reject_below = 4.0f;
    policy->nima_accept_from = 6.0f;
}

/* The network's label: 3-class heads map class 0/1/2 to R/P/A (digiKam);
 * NIMA heads map the mean score by the policy's thresholds; anything else
 * gives NONE (no opinion). */
static iqs_label net_label(const iqs_result *net, const iqs_verdict_policy *p)
{
    if (net->has_score) {
        if (!(net->score >= p->nima_reject_below))
            return IQS_LABEL_REJECTED;
        return net->score >= p->nima_accept_from ? IQS_LABEL_ACCEPTED
                                                 : IQS_LABEL_PENDING;
    }
    if (net->num_classes == 3 && net->top >= 0 && net->top < 3)
        return (iqs_label)(net->top + 1);
    return IQS_LABEL_NONE;
}

IQS_API iqs_status iqs_verdict_combine(iqs_assessment *a,
                                       const iqs_result *net,
                                       const iqs_verdict_policy *policy)
{
    iqs_verdict_policy def;
    const char *word;
    float s;

    if (!a)
        return IQS_E_ARG;
    if (!policy) {
        iqs_verdict_policy_init(&def);
        policy = &def;
    }
    if (policy->size < sizeof *policy || !(policy->severe >= 0) ||
        !(policy->nima_accept_from >= policy->nima_reject_below))
        return IQS_E_ARG;

    a->network = net ? net_label(net, policy) : IQS_LABEL_NONE;
    worst(a, &word, &s);
    /* 1. Severe damage in any criterion rejects, whatever the network. */
    if (a->detectors && s >= policy->severe) {
        a->label = IQS_LABEL_REJECTED;
        snprintf(a->reason, sizeof a->reason, "rejected: %s %.2f", word,
                 (double)s);
        return IQS_OK;
    }
    /* 2. So does the technical verdict's Rejected, unless disabled. */
    if (policy->technical_veto && a->technical == IQS_LABEL_REJECTED) {
        a->label = IQS_LABEL_REJECTED;
        snprintf(a->reason, sizeof a->reason, "rejected: %s %.2f", word,
                 (double)s);
        return IQS_OK;
    }
    /* 3. Otherwise the network decides; without one, the detectors do. */
    if (a->network != IQS_LABEL_NONE) {
        a->label = a->network;
        if (net->has_score)
            snprintf(a->reason, sizeof a->reason, "%s: network score %.2f",
                     iqs_label_name(a->label), (double)net->score);
        else
            snprintf(a->reason, sizeof a->reason, "%s: network class %d (p %.2f)",
                     iqs_label_name(a->label), net->top,
                     (double)net->probs[net->top]);
        return IQS_OK;
    }
    a->label = a->technical;
    iqs_verdict_reason(a);
    return IQS_OK;
}
