/* PLACEHOLDER */
#ifndef OWM_STORE_H
#define OWM_STORE_H
#endif
