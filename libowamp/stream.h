/* PLACEHOLDER */
#ifndef OWP_STREAM_H
#define OWP_STREAM_H
#endif
