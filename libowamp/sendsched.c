/*
 * sendsched.c - RFC 4656 send schedules: slot lists (owping -i), the
 * exponential generator of Appendix A, and the per-packet walk.
 *
 * Uniform source (RFC 4656 section 3.6, Appendix A): AES-128 keyed with the
 * 16-byte SID encrypts a 128-bit big-endian counter that starts at 0. A
 * block is encrypted whenever counter mod 4 == 0; draw n takes 32-bit word
 * n mod 4 (big-endian) of the block for counter n - n mod 4, then the
 * counter advances by one. Because the plaintexts are known in advance, the
 * blocks are produced in batches (one EVP call per 64 draws) without
 * changing a single value.
 *
 * Exponential deviate: Knuth's algorithm 3.4.1.S in 32.32 fixed point, as
 * the RFC and the reference implement it, so the deviates are bit-identical
 * (tests/vectors/schedule/exp-deviates.json).
 */
#include "sendsched.h"

#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

#define SEED_BYTES 16
#define AES_BLOCK_BYTES 16
#define WORDS_PER_BLOCK 4
#define BATCH_BLOCKS 16
#define BATCH_WORDS (BATCH_BLOCKS * WORDS_PER_BLOCK)
#define BATCH_BYTES (BATCH_BLOCKS * AES_BLOCK_BYTES)

#define NUM64_ONE ((owp_num64)1 << 32)
#define FRACTION_MASK 0xFFFFFFFFu

/* ---------------------------------------------------------------- uniform source */

struct owp_expgen {
    EVP_CIPHER_CTX *aes;         /* one context for the generator's life */
    uint64_t batch_counter;      /* counter value of the first word in words[] */
    unsigned next_word;          /* index of the next unused word in words[] */
    int failed;                  /* sticky: OpenSSL failed after _new */
    uint32_t words[BATCH_WORDS]; /* the batch of uniform words */
};

/* Encrypt the counter blocks batch_counter, +4, +8, ... into words[]. The
 * counter is 128 bits on the wire; its upper 64 bits stay zero for the
 * 2^64 draws any session could make. */
static int expgen_fill(owp_expgen *self)
{
    uint8_t plain[BATCH_BYTES];
    uint8_t cipher[BATCH_BYTES];
    memset(plain, 0, sizeof plain);
    for (unsigned b = 0; b < BATCH_BLOCKS; b++)
        owp_put64(plain + b * AES_BLOCK_BYTES + 8, self->batch_counter + (uint64_t)b * WORDS_PER_BLOCK);

    int outl = 0;
    if (EVP_EncryptUpdate(self->aes, cipher, &outl, plain, (int)sizeof plain) != 1 || outl != BATCH_BYTES)
        return -1;
    for (unsigned w = 0; w < BATCH_WORDS; w++)
        self->words[w] = owp_get32(cipher + 4 * w);
    self->next_word = 0;
    return 0;
}

/* Back to counter 0 (the start of the session's sequence). */
static int expgen_rewind(owp_expgen *self)
{
    self->batch_counter = 0;
    self->failed = 0;
    return expgen_fill(self);
}

/* Next 32-bit uniform word as a 32.32 fraction (integer part 0). */
static owp_num64 expgen_uniform(owp_expgen *self)
{
    if (self->next_word == BATCH_WORDS) {
        self->batch_counter += BATCH_WORDS;
        if (expgen_fill(self) != 0) {
            self->failed = 1;
            return 0;
        }
    }
    return self->words[self->next_word++];
}

owp_expgen *owp_expgen_new(const uint8_t seed[16], owp_err *err)
{
    if (!seed) {
        owp_err_set(err, OWP_ERR_INVALID, "owp_expgen_new: no seed");
        return NULL;
    }
    owp_expgen *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "owp_expgen_new: out of memory");
        return NULL;
    }
    self->aes = EVP_CIPHER_CTX_new();
    if (!self->aes || EVP_EncryptInit_ex(self->aes, EVP_aes_128_ecb(), NULL, seed, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(self->aes, 0) != 1 || expgen_rewind(self) != 0) {
        owp_err_set(err, OWP_ERR_CRYPTO, "owp_expgen_new: AES-128-ECB set-up failed");
        owp_expgen_destroy(&self);
        return NULL;
    }
    return self;
}

void owp_expgen_destroy(owp_expgen **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_expgen *self = *self_p;
    EVP_CIPHER_CTX_free(self->aes);
    OPENSSL_cleanse(self->words, sizeof self->words);
    free(self);
    *self_p = NULL;
}

int owp_expgen_failed(const owp_expgen *self)
{
    return self ? self->failed : 1;
}

/* ---------------------------------------------------------------- algorithm S */

/* Q[k] = sum_{i=1..k} (ln 2)^i / i!, times 2^32, rounded (RFC 4656
 * Appendix A). Q[0] is a placeholder so indices match the algorithm; Q[1] is
 * ln 2. Q[11] = 0xFFFFFFFF exceeds every possible shifted U, which ends the
 * search. */
static const owp_num64 knuth_q[] = {
    0,          0xB17217F8, 0xEEF193F7, 0xFD271862, 0xFF9D6DD0, 0xFFF4CFD0,
    0xFFFEE819, 0xFFFFE7FF, 0xFFFFFE2B, 0xFFFFFFE0, 0xFFFFFFFE, 0xFFFFFFFF,
};
#define KNUTH_K (sizeof knuth_q / sizeof knuth_q[0])
#define LN2 (knuth_q[1])

/* Static, so the schedule walk below inlines it (an exported function is
 * called through the PLT even from its own file). */
static owp_num64 expgen_next(owp_expgen *self)
{
    if (self->failed)
        return NUM64_ONE;

    /* S1: count the leading one bits j of U, then drop them and the zero. */
    owp_num64 u = expgen_uniform(self);
    uint32_t ones = (uint32_t)~u; /* U's leading ones are its complement's leading zeros */
    uint32_t j = ones ? (uint32_t)__builtin_clz(ones) : 32;
    u = (u << j << 1) & FRACTION_MASK;
    owp_num64 j_num = (owp_num64)j << 32;

    /* S2: immediate acceptance, X = j*ln2 + U. */
    owp_num64 result;
    if (u < LN2) {
        result = owp_num64_mul(j_num, LN2) + u;
    } else {
        /* S3: least k >= 2 with U < Q[k]; V = min of k new uniforms. */
        size_t k = 2;
        while (k < KNUTH_K - 1 && u >= knuth_q[k])
            k++;
        owp_num64 v = expgen_uniform(self);
        for (size_t i = 2; i <= k; i++) {
            owp_num64 t = expgen_uniform(self);
            if (t < v)
                v = t;
        }
        /* S4: X = (j + V) * ln2. */
        result = owp_num64_mul(j_num + v, LN2);
    }
    return self->failed ? NUM64_ONE : result;
}

owp_num64 owp_expgen_next(owp_expgen *self)
{
    return self ? expgen_next(self) : NUM64_ONE;
}

/* ---------------------------------------------------------------- the walk */

struct owp_sched {
    owp_expgen *gen;
    owp_slot *slots;
    uint32_t nslots;
    uint32_t slot;   /* walked mod nslots, kept without dividing */
    uint64_t walked; /* packets whose delta has been produced */
    owp_num64 sum;   /* delta_0 + ... + delta_{walked-1} */
};

owp_sched *owp_sched_new(const uint8_t sid[16], const owp_slot *slots, uint32_t nslots,
                         owp_err *err)
{
    if (!sid || !slots || nslots == 0) {
        owp_err_set(err, OWP_ERR_INVALID, "owp_sched_new: a schedule needs a SID and at least one slot");
        return NULL;
    }
    for (uint32_t i = 0; i < nslots; i++) {
        if (slots[i].type != OWP_SLOT_EXP && slots[i].type != OWP_SLOT_FIXED) {
            owp_err_set(err, OWP_ERR_INVALID, "owp_sched_new: slot %u has invalid type %d", i,
                        (int)slots[i].type);
            return NULL;
        }
    }

    owp_sched *self = calloc(1, sizeof *self);
    if (!self || !(self->slots = malloc((size_t)nslots * sizeof *slots))) {
        free(self);
        owp_err_set(err, OWP_ERR_NOMEM, "owp_sched_new: out of memory for %u slots", nslots);
        return NULL;
    }
    memcpy(self->slots, slots, (size_t)nslots * sizeof *slots);
    self->nslots = nslots;
    if (!(self->gen = owp_expgen_new(sid, err))) {
        owp_sched_destroy(&self);
        return NULL;
    }
    return self;
}

void owp_sched_destroy(owp_sched **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_sched *self = *self_p;
    owp_expgen_destroy(&self->gen);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

static owp_num64 walk_one(owp_sched *self)
{
    const owp_slot *slot = &self->slots[self->slot];
    if (++self->slot == self->nslots)
        self->slot = 0;
    /* A fixed slot draws nothing: the uniform stream belongs to the
     * exponential slots alone, in packet order. */
    owp_num64 delta = slot->type == OWP_SLOT_EXP ? owp_num64_mul(expgen_next(self->gen), slot->value)
                                                 : slot->value;
    self->walked++;
    self->sum += delta;
    return delta;
}

owp_num64 owp_sched_next_delta(owp_sched *self)
{
    return self ? walk_one(self) : 0;
}

static void sched_restart(owp_sched *self)
{
    if (expgen_rewind(self->gen) != 0)
        self->gen->failed = 1;
    self->walked = 0;
    self->slot = 0;
    self->sum = 0;
}

owp_num64 owp_sched_offset(owp_sched *self, uint32_t seq)
{
    if (!self)
        return 0;
    uint64_t wanted = (uint64_t)seq + 1; /* packets 0..seq */
    if (self->walked > wanted)
        sched_restart(self);
    while (self->walked < wanted)
        walk_one(self);
    return self->sum;
}

uint32_t owp_sched_offsets(owp_sched *self, uint32_t seq, uint32_t n, owp_num64 *out)
{
    if (!self || n == 0)
        return 0;
    if (n - 1 > UINT32_MAX - seq)
        n = UINT32_MAX - seq + 1; /* no packet after seq UINT32_MAX */
    out[0] = owp_sched_offset(self, seq);
    for (uint32_t i = 1; i < n; i++)
        out[i] = out[i - 1] + walk_one(self);
    return n;
}

int owp_sched_failed(const owp_sched *self)
{
    return self ? owp_expgen_failed(self->gen) : 1;
}

/* ---------------------------------------------------------------- slot lists */

double owp_slots_mean_interval(const owp_slot *slots, uint32_t nslots)
{
    if (!slots || nslots == 0)
        return 0.0;
    double sum = 0.0;
    for (uint32_t i = 0; i < nslots; i++)
        sum += owp_num64_to_double(slots[i].value);
    return sum / nslots;
}

/* One "-i" element: a strtod number and at most one type letter. Values that
 * the reference would turn into undefined conversions (NaN, infinities,
 * 2^32 s or more) are rejected as not numeric. */
static owp_status parse_slot(const char *token, owp_slot *slot, owp_err *err)
{
    char *end = NULL;
    double value = strtod(token, &end);
    if (end == token || !isfinite(value) || value >= 4294967296.0)
        return owp_err_set(err, OWP_ERR_PARSE, "Invalid numeric value (%s) for schedule", token);
    if (strlen(end) > 1)
        return owp_err_set(err, OWP_ERR_PARSE, "Invalid slot type (%s) for schedule", end);

    switch (tolower((unsigned char)*end)) {
    case '\0':
    case 'e':
        slot->type = OWP_SLOT_EXP;
        break;
    case 'f':
        slot->type = OWP_SLOT_FIXED;
        break;
    default:
        return owp_err_set(err, OWP_ERR_PARSE, "Invalid slot type (%s) for schedule", end);
    }
    slot->value = owp_num64_from_double(value); /* negatives become 0, as in the reference */
    return OWP_OK;
}

static uint32_t count_elements(const char *spec)
{
    uint32_t n = 1;
    for (const char *p = spec; (p = strchr(p, ',')) != NULL; p++)
        n++;
    return n;
}

owp_status owp_slots_parse(const char *spec, owp_slot **slots, uint32_t *nslots, owp_err *err)
{
    if (!spec || !slots || !nslots)
        return owp_err_set(err, OWP_ERR_INVALID, "Unable to parse schedule specification");
    if (strlen(spec) >= UINT32_MAX)
        return owp_err_set(err, OWP_ERR_PARSE, "Unable to parse schedule specification");

    uint32_t expected = count_elements(spec);
    owp_slot *parsed = calloc(expected, sizeof *parsed);
    char *copy = strdup(spec);
    if (!parsed || !copy) {
        free(parsed);
        free(copy);
        return owp_err_set(err, OWP_ERR_NOMEM, "Can't alloc %u slots for schedule", expected);
    }

    /* strtok semantics on purpose: empty elements vanish, and the count
     * mismatch below reports them, as the reference does. */
    owp_status rc = OWP_OK;
    uint32_t found = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && found < expected && rc == OWP_OK;
         tok = strtok_r(NULL, ",", &save))
        rc = parse_slot(tok, &parsed[found++], err);
    if (rc == OWP_OK && found != expected)
        rc = owp_err_set(err, OWP_ERR_PARSE, "Unable to parse schedule specification");

    free(copy);
    if (rc != OWP_OK) {
        free(parsed);
        return rc;
    }
    *slots = parsed;
    *nslots = expected;
    return OWP_OK;
}
