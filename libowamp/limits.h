/* PLACEHOLDER */
#ifndef OWP_LIMITS_H
#define OWP_LIMITS_H
#endif
