/* PLACEHOLDER */
#ifndef OWP_client_H
#define OWP_client_H
#endif
