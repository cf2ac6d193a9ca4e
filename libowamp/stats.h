/* PLACEHOLDER */
#ifndef OWP_stats_H
#define OWP_stats_H
#endif
